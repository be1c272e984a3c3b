"""The ledger as documented: typed columns, nulls for absent values, UID kinds, mappings."""

from __future__ import annotations

import csv
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
from report_builders import HEX_KEY, run_cli

from deid.pipeline.records import BOX_FIELDS, FILES_SCHEMA, UID_KINDS, UIDS_SCHEMA

#: The example export's ultrasound frame with the patient's name burned in.
ULTRASOUND = "PAT4/STUDY1/SER1/US000001.dcm"


def _files(ledger) -> pa.Table:
    return pa.concat_tables(pq.read_table(p) for p in sorted((ledger / "files").glob("*.parquet")))


def _uids(ledger) -> pa.Table:
    return pa.concat_tables(pq.read_table(p) for p in sorted((ledger / "uids").glob("*.parquet")))


def test_parts_carry_the_documented_schema(example_run):
    files, uids = _files(example_run["ledger"]), _uids(example_run["ledger"])
    assert files.schema.remove_metadata().equals(FILES_SCHEMA)
    assert uids.schema.remove_metadata().equals(UIDS_SCHEMA)
    boxes = files.schema.field("pixel_boxes").type
    assert pa.types.is_list(boxes) and pa.types.is_struct(boxes.value_type)
    assert [f.name for f in boxes.value_type] == list(BOX_FIELDS)


def test_absent_values_are_nulls_never_empty_text(example_run):
    rows = _files(example_run["ledger"]).to_pylist()
    for row in rows:
        for name, value in row.items():
            assert value != "", f"{name} of {row['input_path']} is '' (should be null)"
    by_status = {r["status"]: r for r in rows}
    assert by_status["written"]["reason"] is None
    assert by_status["quarantined"]["output_path"] is None
    assert by_status["quarantined"]["sop_instance_uid_in"] is None
    assert by_status["excluded"]["output_path"] is None


def test_pixel_boxes_are_typed_structs_with_their_source(example_run):
    rows = {r["input_path"]: r for r in _files(example_run["ledger"]).to_pylist()}
    us = rows[str(example_run["export"] / ULTRASOUND)]
    assert us["status"] == "written" and us["modality"] == "US"
    assert us["pixel_boxes"] and us["pixel_regions_scrubbed"] == len(us["pixel_boxes"])
    for box in us["pixel_boxes"]:
        assert set(box) == set(BOX_FIELDS) and box["source"] in ("ocr", "region")
        assert all(isinstance(box[k], int) for k in ("frame", "x", "y", "width", "height"))
        assert box["width"] > 0 and box["height"] > 0
    untouched = [r for r in rows.values() if r["modality"] == "CT"]
    assert untouched and all(r["pixel_boxes"] == [] for r in untouched)


def test_region_boxes_are_told_from_ocr_boxes(tmp_path):
    from report_builders import image

    from deid.pipeline.per_file import typed_boxes
    from deid.recipe.loader import load_recipe

    recipe_file = tmp_path / "r.yaml"
    recipe_file.write_text(
        "deid-recipe: 1\nextends: research\npixels:\n  regions:\n"
        "    - when: {Modality: OT}\n      boxes: [[0, 0, 20, 10]]\n"
    )
    import pydicom

    path = tmp_path / "o.dcm"
    image(path)
    recipe = load_recipe(str(recipe_file))
    margin = recipe.pixels.margin
    region = (0, 0, 0, 20 + margin, 10 + margin)
    typed = typed_boxes([region, (0, 40, 30, 8, 8)], recipe, pydicom.dcmread(path))
    assert [b[-1] for b in typed] == ["region", "ocr"]


def test_every_uid_says_what_it_was(example_run):
    files = _files(example_run["ledger"]).to_pylist()
    kinds = {r["uid_new"]: r["kind"] for r in _uids(example_run["ledger"]).to_pylist()}
    assert set(kinds.values()) <= set(UID_KINDS)
    assert {"study", "series", "instance", "frame_of_reference"} <= set(kinds.values())
    for row in files:
        if row["status"] == "written" and row["sop_instance_uid_out"]:
            assert kinds[row["sop_instance_uid_out"]] == "instance"
            assert kinds[row["series_instance_uid_out"]] == "series"
            assert kinds[row["study_instance_uid_out"]] == "study"


def test_uid_mapping_csv_keeps_midi_b_columns_first(example_run, tmp_path):
    maps = tmp_path / "maps"
    code, _, _ = run_cli("ledger", "export-mappings", example_run["ledger"], "--out", maps)
    assert code == 0
    with (maps / "uid_mapping.csv").open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["id_old", "id_new", "kind"]
    assert {r[2] for r in rows[1:]} <= set(UID_KINDS) and len(rows) > 10
    with (maps / "patid_mapping.csv").open() as handle:
        assert next(csv.reader(handle)) == ["id_old", "id_new"]


def test_a_duplicate_names_the_input_it_duplicates(tmp_path, example_run):
    src = tmp_path / "in"
    one = example_run["export"] / "PAT1" / "STUDY1" / "SER1"
    first = sorted(p for p in one.iterdir() if p.is_file())[0]
    (src / "a").mkdir(parents=True)
    (src / "b").mkdir()
    shutil.copy(first, src / "a" / "x.dcm")
    shutil.copy(first, src / "b" / "x.dcm")
    key = tmp_path / "key"
    key.write_text(HEX_KEY)
    out = tmp_path / "out"
    code, _, err = run_cli("run", "basic", src, "--out", out, "--key-file", key, "--workers", 1)
    assert code == 0, err
    rows = {r["input_path"]: r for r in _files(tmp_path / "out.ledger").to_pylist()}
    winner, loser = rows[str(src / "a" / "x.dcm")], rows[str(src / "b" / "x.dcm")]
    assert winner["status"] == "written" and winner["reason"] is None
    assert loser["status"] == "duplicate"
    assert loser["reason"].startswith(f"duplicate of {src / 'a' / 'x.dcm'}")


def test_the_documented_pyarrow_query_runs(example_run):
    """The README's pyarrow query (pandas and DuckDB read the same dataset)."""
    import pyarrow.dataset as ds

    ledger = example_run["ledger"]
    table = ds.dataset(ledger / "files", format="parquet").to_table(
        filter=ds.field("status") == "quarantined", columns=["input_path", "reason"]
    )
    assert table.num_rows == 1 and table["reason"][0].as_py().startswith("not DICOM")
