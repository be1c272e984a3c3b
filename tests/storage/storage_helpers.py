"""Helpers of the storage tests: an S3 client for the test's own set-up and checks, and a
small proxy that makes a real S3 server answer 503 SlowDown now and then."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import s3fs

HEX_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class S3:
    """The test's own view of the server (its own client, never deid's)."""

    def __init__(self, endpoint: str, prefix: str) -> None:
        self.endpoint = endpoint
        self.prefix = prefix
        self.fs = s3fs.S3FileSystem(
            key="testing",
            secret="testing-secret",
            client_kwargs={"endpoint_url": endpoint},
            use_listings_cache=False,
            skip_instance_cache=True,
        )

    def bucket(self, name: str) -> str:
        """A new bucket (unique per test); returns its ``s3://`` URL."""
        full = f"{self.prefix}-{name}"
        self.fs.mkdir(full)
        return f"s3://{full}"

    def upload(self, folder: Path, url: str) -> None:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                rel = path.relative_to(folder).as_posix()
                self.fs.pipe_file(f"{url.removeprefix('s3://')}/{rel}", path.read_bytes())

    def objects(self, url: str) -> dict[str, bytes]:
        """relative key -> bytes of every object under ``url``."""
        base = url.removeprefix("s3://").rstrip("/")
        found = self.fs.find(base)
        return {name[len(base) + 1 :]: self.fs.cat_file(name) for name in found}

    def keys(self, url: str) -> list[str]:
        base = url.removeprefix("s3://").rstrip("/")
        return [name[len(base) + 1 :] for name in self.fs.find(base)]


def local_files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


class FlakyProxy:
    """HTTP proxy in front of an S3 server answering 503 SlowDown to every ``every``-th
    request while :attr:`failing` (then passing everything through)."""

    def __init__(self, upstream: str, every: int = 3) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.every = every
        self.failing = True
        self.requests = 0
        self.refused = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with proxy._lock:
                    proxy.requests += 1
                    refuse = proxy.failing and proxy.requests % proxy.every == 0
                    proxy.refused += refuse
                if refuse:
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(SLOW_DOWN)))
                    self.end_headers()
                    self.wfile.write(SLOW_DOWN)
                    return
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                head = self.command == "HEAD"
                for name, value in answer.getheaders():
                    skip = ("transfer-encoding", "connection") + (
                        () if head else ("content-length",)
                    )
                    if name.lower() not in skip:
                        self.send_header(name, value)
                if not head:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def deid_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DEID_KEY"}
    env.update(extra)
    return env


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto server exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto server did not listen: {log.read_text()[-2000:]}")


def start_moto(folder: Path, **env: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = folder / f"moto-{port}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, **env},
        start_new_session=True,
    )
    _wait_for_port(port, proc, log)
    return proc, f"http://127.0.0.1:{port}"


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def use_endpoint(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    """The process environment every S3 client (this one, local workers) takes its
    credentials and endpoint from, as a user's would; deid's cached filesystems forgotten."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "DEID_KEY"):
        monkeypatch.delenv(name, raising=False)
    forget_filesystems()


def forget_filesystems() -> None:
    import s3fs

    from deid.storage import filesystems, s3objects

    filesystems.configure({})
    s3objects.forget()
    filesystems._filesystem_cache.clear()
    s3fs.S3FileSystem.clear_instance_cache()
