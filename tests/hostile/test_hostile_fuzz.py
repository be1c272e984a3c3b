"""Mutation fuzzing of the reader + rewriter: byte flips, insertions, deletions, truncations.

Property: for any mutation of a valid file, the per-file path either refuses the bytes as
not DICOM, raises an exception of a known type (the pipeline quarantines the file with
it), or writes output that pydicom reads back and that holds none of the identifying values
of the input it was given, within a time limit. The default run is bounded (~100 examples,
a few seconds); ``DEID_FUZZ_EXAMPLES=5000`` or ``-m slow`` runs longer.
"""

from __future__ import annotations

import os

import pytest
from hostile_corpus import base_dataset, encode
from hostile_engine import run_one
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deid.recipe import builtin_recipe
from deid.rewrite.keyring import KeyRing

BASE = encode(base_dataset())
RECIPE = builtin_recipe("basic")
KEYS = KeyRing(b"fuzz-key-0123456789abcdef0123456")
DEFAULT_EXAMPLES = int(os.environ.get("DEID_FUZZ_EXAMPLES", "100"))

_position = st.integers(min_value=0, max_value=len(BASE) - 1)
_mutation = st.one_of(
    st.tuples(st.just("flip"), _position, st.integers(1, 255)),
    st.tuples(st.just("set"), _position, st.integers(0, 255)),
    st.tuples(st.just("insert"), _position, st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), _position, st.integers(1, 16)),
    st.tuples(st.just("truncate"), _position, st.just(0)),
)


def mutate(data: bytes, mutations: list[tuple]) -> bytes:
    buffer = bytearray(data)
    for op, position, arg in mutations:
        position = min(position, max(len(buffer) - 1, 0))
        if not buffer:
            break
        if op == "flip":
            buffer[position] ^= arg
        elif op == "set":
            buffer[position] = arg
        elif op == "insert":
            buffer[position:position] = arg
        elif op == "delete":
            del buffer[position : position + arg]
        else:
            del buffer[position:]
    return bytes(buffer)


def _check(mutations: list[tuple]) -> None:
    outcome = run_one(mutate(BASE, mutations), RECIPE, KEYS, seconds=20)
    if outcome.status == "written":
        assert outcome.findings == (), [f.line() for f in outcome.findings]


@settings(
    max_examples=DEFAULT_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(st.lists(_mutation, min_size=1, max_size=4))
def test_mutations_are_refused_or_written_clean(mutations):
    _check(mutations)


@pytest.mark.slow
@settings(max_examples=max(DEFAULT_EXAMPLES, 3000), deadline=None)
@given(st.lists(_mutation, min_size=1, max_size=8))
def test_mutations_at_length(mutations):
    _check(mutations)


def test_unmutated_base_is_written_clean():
    outcome = run_one(BASE, RECIPE, KEYS)
    assert outcome.status == "written"
    assert outcome.findings == ()
