"""The pipeline's small parts: sniffing, input walking, manifests, keys, plan, ledger parts."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pipeline_builders import BASIC, HEX_KEY, make_image, save
from pydicom.uid import ImplicitVRLittleEndian

from deid.errors import KeyMissingError, UserError
from deid.pipeline import ledger as ledger_mod
from deid.pipeline.inputs import collect_inputs, read_manifest, walk_files
from deid.pipeline.keys import decode_key_text, resolve_key
from deid.pipeline.per_file import describe_error, output_relpath, write_unique
from deid.pipeline.plan import default_partition_size, partition_count, plan_partitions
from deid.pipeline.records import FileRecord
from deid.pipeline.sniff import HEAD_SIZE, sniff


# -- sniffing ----------------------------------------------------------------------------------
def _head(path: Path) -> tuple[bytes, int]:
    return path.read_bytes()[:HEAD_SIZE], path.stat().st_size


def test_sniff_part10_and_bare_datasets(tmp_path: Path) -> None:
    part10 = save(make_image(), tmp_path / "a")
    explicit = save(make_image(), tmp_path / "b", preamble=False)
    implicit = save(make_image(), tmp_path / "c", syntax=ImplicitVRLittleEndian, preamble=False)
    assert sniff(*_head(part10)) == "part10"
    assert sniff(*_head(explicit)) == "raw"
    assert sniff(*_head(implicit)) == "raw"


@pytest.mark.parametrize(
    "data",
    [b"", b"hello world, this is text\n" * 10, b"\x89PNG\r\n\x1a\n" + bytes(200), b"\x08\x00"],
)
def test_sniff_rejects_non_dicom(data: bytes) -> None:
    assert sniff(data[:HEAD_SIZE], len(data)) is None


def test_sniff_rejects_implicit_length_beyond_file() -> None:
    head = b"\x08\x00\x05\x00" + (10_000).to_bytes(4, "little") + b"ISO_IR 100"
    assert sniff(head, len(head)) is None
    assert sniff(head, 20_000) == "raw"


# -- inputs ------------------------------------------------------------------------------------
def test_walk_survives_symlink_loops_and_keeps_every_file(tmp_path: Path) -> None:
    root = tmp_path / "in"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "f1").write_bytes(b"x")
    (root / "top.txt").write_bytes(b"y")
    os.symlink(root, root / "a" / "b" / "loop")  # a folder symlink back to the root
    os.symlink("self", root / "self")  # a symlink to itself (ELOOP)
    os.symlink("missing", root / "dangling")
    found = sorted(walk_files(str(root)))
    names = {Path(p).name for p in found}
    assert {"f1", "top.txt", "self", "dangling"} <= names
    assert sum(1 for p in found if p.endswith("f1")) == 1


def test_collect_inputs_prunes_output_and_sorts(tmp_path: Path) -> None:
    root = tmp_path / "in"
    (root / "z").mkdir(parents=True)
    (root / "z" / "1").write_bytes(b"1")
    (root / "a").write_bytes(b"2")
    (root / "out").mkdir()
    (root / "out" / "written.dcm").write_bytes(b"3")
    paths = collect_inputs([str(root), str(root / "a")], prune=[root / "out"])
    assert paths == sorted({str(root / "a"), str(root / "z" / "1")})
    with pytest.raises(UserError, match="input not found"):
        collect_inputs([str(tmp_path / "nope")])


def test_manifest_text_and_parquet(tmp_path: Path) -> None:
    text = tmp_path / "m.txt"
    text.write_text("/a/b\n\n/c d/e\r\n")
    assert read_manifest(str(text)) == ["/a/b", "/c d/e"]
    parquet = tmp_path / "m.parquet"
    pq.write_table(pa.table({"path": ["/x", "/y"], "other": [1, 2]}), parquet)
    assert read_manifest(str(parquet)) == ["/x", "/y"]
    pq.write_table(pa.table({"file": ["/x"]}), tmp_path / "bad.parquet")
    with pytest.raises(UserError, match="'path' column"):
        read_manifest(str(tmp_path / "bad.parquet"))


# -- keys --------------------------------------------------------------------------------------
def test_key_text_decoding() -> None:
    assert decode_key_text(HEX_KEY + " \n", "x") == bytes.fromhex(HEX_KEY)
    phrase = "correct horse battery staple, twice over"
    assert decode_key_text(phrase + "\n", "x") == phrase.encode()
    with pytest.raises(KeyMissingError):
        decode_key_text(" \n", "x")


PASSPHRASE_ENV = "env: wobbly-parsnip-47-quartz-lantern-Oslo"
PASSPHRASE_FILE = "file: crimson-walrus-88-tundra-violin-Quito"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("x", "too weak"),
        ("abc", "looks like hex"),  # three hex digits
        (HEX_KEY[:-1], "looks like hex"),  # 63 digits: used to become a UTF-8 key
        (HEX_KEY[:30], "looks like hex"),  # 15 bytes
        ("0x" + HEX_KEY[:31], "looks like hex"),
        (HEX_KEY[:40] + "g" + HEX_KEY[41:], "almost a hex key"),
        (HEX_KEY + " zz", "almost a hex key"),
        ("password" * 4, "too weak"),  # 32 characters, only 7 different
        ("short passphrase 1234", "too weak"),
    ],
)
def test_weak_or_near_miss_keys_are_refused(tmp_path, monkeypatch, text, why) -> None:
    key_file = tmp_path / "k"
    key_file.write_text(text + "\n")
    with pytest.raises(UserError, match=why) as raised:
        resolve_key(tmp_path / "l", str(key_file))
    if len(text) > 3:
        assert text not in str(raised.value)  # the key itself is never echoed
    monkeypatch.setenv("DEID_KEY", text)
    with pytest.raises(UserError, match=why):
        resolve_key(tmp_path / "l")
    assert not (tmp_path / "l").exists()


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (HEX_KEY, bytes.fromhex(HEX_KEY)),
        (HEX_KEY[:32], bytes.fromhex(HEX_KEY[:32])),  # exactly 128 bits
        ("0x" + HEX_KEY.upper(), bytes.fromhex(HEX_KEY)),
        (PASSPHRASE_FILE, PASSPHRASE_FILE.encode()),
    ],
)
def test_strong_keys_are_accepted(tmp_path, text, secret) -> None:
    key_file = tmp_path / "k"
    key_file.write_text(text + "\n")
    assert resolve_key(tmp_path / "l", str(key_file)).secret == secret


def test_key_precedence_generation_and_reuse(tmp_path, monkeypatch) -> None:
    ledger = tmp_path / "ledger"
    created = resolve_key(ledger)
    assert created.created and created.source == "ledger"
    key_path = ledger / "key"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o700
    again = resolve_key(ledger)
    assert again.secret == created.secret and not again.created
    monkeypatch.setenv("DEID_KEY", PASSPHRASE_ENV)
    assert resolve_key(ledger).secret == PASSPHRASE_ENV.encode()
    key_file = tmp_path / "k"
    key_file.write_text(HEX_KEY)
    assert resolve_key(ledger, str(key_file)).secret == bytes.fromhex(HEX_KEY)
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(KeyMissingError, match="empty"):
        resolve_key(ledger, str(tmp_path / "empty"))
    with pytest.raises(KeyMissingError):
        resolve_key(tmp_path / "other", create=False, key_source="env:NOT_SET_ANYWHERE")


def test_recipe_key_source_is_respected(tmp_path, monkeypatch) -> None:
    key_file = tmp_path / "k"
    key_file.write_text(PASSPHRASE_FILE)
    monkeypatch.setenv("MY_KEY", PASSPHRASE_ENV)
    assert resolve_key(tmp_path / "l", key_source="env:MY_KEY").secret == PASSPHRASE_ENV.encode()
    with pytest.raises(UserError, match="drop --key-file"):
        resolve_key(tmp_path / "l", str(key_file), key_source="env:MY_KEY")
    pinned = resolve_key(tmp_path / "l", key_source=f"file:{key_file}")
    assert pinned.secret == PASSPHRASE_FILE.encode()
    assert not (tmp_path / "l" / "key").exists()


# -- plan --------------------------------------------------------------------------------------
def test_plan_is_deterministic_and_covers_every_path() -> None:
    paths = [f"/p/{i:05d}" for i in range(1234)]
    plan = list(plan_partitions(paths, 500, "salt"))
    assert [len(p) for p in plan] == [500, 500, 234]
    assert len(plan) == partition_count(len(paths), 500)
    assert plan == list(plan_partitions(paths, 500, "salt"))
    assert plan[0].content_hash != next(plan_partitions(paths, 500, "other")).content_hash
    moved = list(plan_partitions(paths[1:], 500, "salt"))
    assert moved[0].content_hash != plan[0].content_hash


# -- ledger parts ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("files", "workers", "size"),
    [(10, 2, 50), (600, 2, 75), (1000, 2, 125), (5000, 16, 79), (10**6, 16, 500), (0, 4, 50)],
)
def test_default_partition_size_gives_each_worker_several(files, workers, size) -> None:
    """Small runs are cut so every worker has about four partitions, never below 50 files
    a partition; large ones keep 500."""
    assert default_partition_size(files, workers) == size
    if files >= 2 * 50 * workers:
        assert partition_count(files, size) >= 2 * workers


def test_partition_parts_mark_completion(tmp_path: Path) -> None:
    ledger = tmp_path / "l"
    ledger_mod.ensure_ledger(ledger)
    record = FileRecord(input_path="/in/a", status="written", uid_pairs=[("1.2.3", "2.25.9")])
    assert not ledger_mod.partition_complete(ledger, 0, "h")
    ledger_mod.write_partition(ledger, 0, "h", [record])
    assert ledger_mod.partition_complete(ledger, 0, "h")
    assert not ledger_mod.partition_complete(ledger, 0, "other")
    files = ledger_mod.part_path(ledger, "files", 0)
    assert stat.S_IMODE(files.stat().st_mode) == 0o600
    assert (
        pq.read_table(files)
        .schema.remove_metadata()
        .equals(ledger_mod.files_table([record]).schema.remove_metadata())
    )
    uids = pq.read_table(ledger_mod.part_path(ledger, "uids", 0)).to_pylist()
    assert uids == [{"uid_old": "1.2.3", "uid_new": "2.25.9", "kind": "other"}]
    files.write_bytes(b"truncated")  # a torn part (cannot happen with rename, but be safe)
    assert not ledger_mod.partition_complete(ledger, 0, "h")
    assert not list(tmp_path.rglob("*.tmp"))


def test_ledger_text_keeps_utf8_and_escapes_undecodable_names(tmp_path: Path) -> None:
    assert ledger_mod.ledger_text("/in/Müller/a.dcm") == "/in/Müller/a.dcm"
    odd = os.fsdecode(b"/in/\xff.dcm")
    assert ledger_mod.ledger_text(odd) == "/in/\\udcff.dcm"
    ledger = tmp_path / "l"
    ledger_mod.ensure_ledger(ledger)
    ledger_mod.write_partition(ledger, 0, "h", [FileRecord(input_path=odd, status="written")])
    table = pq.read_table(ledger_mod.part_path(ledger, "files", 0))
    assert table.column("input_path").to_pylist() == ["/in/\\udcff.dcm"]


# -- worker helpers ----------------------------------------------------------------------------
def test_reasons_do_not_echo_values() -> None:
    error = ValueError("Invalid value 'Doe^John' for VR PN in \"secret\"")
    text = describe_error(error)
    assert "Doe" not in text and "secret" not in text and text.startswith("ValueError: ")
    missing = describe_error(FileNotFoundError(2, "No such file or directory", "/in/Doe^John"))
    assert missing == "FileNotFoundError: No such file or directory"


class _Keys:
    def uid(self, text: str) -> str:
        return "2.25." + str(abs(hash(text)) % 10**20)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_output_names_never_escape_the_output() -> None:
    from pydicom.dataset import Dataset

    ds = Dataset()
    ds.StudyInstanceUID = "../../etc"
    ds.SeriesInstanceUID = "1.2.3"
    ds.SOPInstanceUID = "1.2/../4"
    rel = output_relpath(ds, _Keys(), b"")
    assert ".." not in rel and rel.count("/") == 2 and rel.startswith("2.25.")
    empty = output_relpath(Dataset(), _Keys(), b"content")
    assert empty.startswith("no-study/no-series/2.25.")


def test_write_unique_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "s" / "x.dcm"
    assert write_unique(target, b"first")
    assert write_unique(target, b"first")  # the same bytes again: a redo, fine
    assert not write_unique(target, b"other")
    assert target.read_bytes() == b"first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.dcm"]


def test_duplicate_resolver_survives_a_vanished_winner(tmp_path: Path) -> None:
    """The resolver re-reads the winning input; one that is gone since its partition ran
    must leave the name with its holder, not fail the run's last task."""
    from deid.pipeline.duplicates import resolve
    from deid.pipeline.per_file import WorkContext
    from deid.recipe import load_recipe
    from deid.rewrite.keyring import KeyRing

    ledger, out = tmp_path / "l", tmp_path / "out"
    ledger_mod.ensure_ledger(ledger)
    name = "1/2/3.dcm"
    (out / "1" / "2").mkdir(parents=True)
    (out / name).write_bytes(b"held")
    rows = [
        FileRecord(str(tmp_path / "a-gone.dcm"), "duplicate", "dup", name, partition=0),
        FileRecord(str(tmp_path / "b.dcm"), "written", "", name, partition=0),
    ]
    ledger_mod.write_partition(ledger, 0, "h", rows)
    ctx = WorkContext(load_recipe(BASIC), KeyRing(bytes.fromhex(HEX_KEY)), out)

    assert resolve(ledger, out, ctx) == {"contested": 1, "rewritten": 0, "rows_changed": 0}
    assert (out / name).read_bytes() == b"held"
    statuses = pq.read_table(ledger_mod.part_path(ledger, "files", 0)).column("status")
    assert statuses.to_pylist() == ["duplicate", "written"]
