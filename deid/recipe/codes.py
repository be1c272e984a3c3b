"""CID 7050 de-identification method codes, read from the standard's table, never typed here."""

from __future__ import annotations

import csv

from deid.resources import standard_table


def _load() -> dict[str, str]:
    with standard_table("deid_method_codes.csv").open(newline="", encoding="utf-8") as handle:
        return {row["code_value"]: row["code_meaning"] for row in csv.DictReader(handle)}


#: code value -> code meaning, e.g. "113100" -> "Basic Application Confidentiality Profile".
CODE_MEANINGS: dict[str, str] = _load()
