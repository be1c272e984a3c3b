"""A TLS front for a plain HTTP server: what a hospital's reverse proxy does for its PACS.

Debian's Orthanc (1.10) serves HTTPS itself only badly (with SSL on it drops the first TLS
connection and exits), and sites put a proxy in front anyway; this one accepts TLS with the
test's certificate and relays the bytes to the server's HTTP port, each connection in its
own thread.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from pathlib import Path


class TlsProxy:
    def __init__(self, upstream_port: int, certificate: Path, key: Path) -> None:
        self.upstream_port = upstream_port
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(certificate), str(key))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            client = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):  # an untrusting client hangs up mid-handshake
            raw.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        done = threading.Event()

        def pump(source: socket.socket, sink: socket.socket) -> None:
            try:
                while data := source.recv(65536):
                    sink.sendall(data)
            except OSError:
                pass
            finally:
                done.set()

        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
        pump(client, upstream)
        done.wait(30)
        for end in (client, upstream):
            with contextlib.suppress(OSError):
                end.close()

    def close(self) -> None:
        self._closed = True
        self.listener.close()
