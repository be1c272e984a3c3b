"""Write deid/text/data/: given names and surnames from names-dataset, words of medicine.

``person_names.tsv.gz``:

Why a derived file: names-dataset (PyPI ``names-dataset``, built from 491 million public
Facebook profiles of 105 countries) loads in ~15 s and ~1.9 GB of memory, far beyond the
per-file budget of a pipeline worker. The names that matter for finding people in free
text are the common ones: those ranked among the top ``--rank`` of at least one country.
This script keeps those (about 120 000), casefolded, one per line with ``g`` (given), ``s``
(surname) or ``gs``; the file loads in a fraction of a second.

``medical_words.txt.gz``: :func:`deid.text.vocabulary.derive_medical_words` (pydicom's
PS3.16 code meanings, PS3.6 names, private creators), one word a line.

    python scripts/generate_vocabulary.py            # rewrite the files
    python scripts/generate_vocabulary.py --check    # exit 1 when a committed file differs
"""

from __future__ import annotations

import argparse
import gzip
import os
import pickle
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "deid" / "text" / "data"
OUT = DATA / "person_names.tsv.gz"
MEDICAL = DATA / "medical_words.txt.gz"
_NAME = re.compile(r"^[^\W\d_][^\W\d_'-]*(?:['-][^\W\d_]+)*$")


def _ranked(path: str, rank: int) -> set[str]:
    with gzip.open(path) as handle:
        table = pickle.load(handle)
    out = set()
    for name, info in table.items():
        ranks = info.get("rank") or {}
        if ranks and min(ranks.values()) <= rank and _NAME.match(name) and len(name) >= 2:
            out.add(name.casefold())
    return out


def build(rank: int) -> bytes:
    import names_dataset  # type: ignore[import-untyped]

    folder = os.path.join(os.path.dirname(names_dataset.__file__), "v3")
    given = _ranked(os.path.join(folder, "first_names.pkl.gz"), rank)
    family = _ranked(os.path.join(folder, "last_names.pkl.gz"), rank)
    lines = []
    for name in sorted(given | family):
        lines.append(f"{name}\t{'g' if name in given else ''}{'s' if name in family else ''}")
    text = "\n".join(lines) + "\n"
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rank", type=int, default=1000)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--medical-only", action="store_true", help="skip names-dataset")
    args = parser.parse_args()
    outputs = [(MEDICAL, medical())]
    if not args.medical_only:
        outputs.insert(0, (OUT, build(args.rank)))
    differs = 0
    for path, data in outputs:
        if args.check:
            same = path.is_file() and gzip.decompress(path.read_bytes()) == gzip.decompress(data)
            print(f"{path.name}: " + ("up to date" if same else "differs from its source"))
            differs += not same
        else:
            path.write_bytes(data)
            print(f"wrote {path} ({len(data)} bytes)")
    return 1 if differs else 0


def medical() -> bytes:
    sys.path.insert(0, str(REPO))
    from deid.text.vocabulary import derive_medical_words

    text = "\n".join(derive_medical_words()) + "\n"
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


if __name__ == "__main__":
    sys.exit(main())
