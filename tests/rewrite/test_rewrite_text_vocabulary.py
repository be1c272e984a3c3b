"""The shipped vocabulary: what is a name, a word of a language, a word of medicine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from deid.text import vocabulary as vocab

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("word", ["Kowalski", "Nguyen", "Okafor", "Tanaka", "Fischer", "Patel"])
def test_listed_names(word) -> None:
    assert vocab.is_name_part(word)


@pytest.mark.parametrize("word", ["will", "here", "lives", "morning", "monday", "review"])
def test_words_of_a_language(word) -> None:
    assert vocab.is_language_word(word)


@pytest.mark.parametrize("word", ["nodule", "contrast", "chest", "hodgkin", "manufacturer"])
def test_words_of_medicine(word) -> None:
    assert vocab.is_medical(word)


def test_names_among_code_meanings_are_not_medicine() -> None:
    """PS3.16 names animal breeds after people ("Campbell"): those are no vocabulary."""
    assert not vocab.is_medical("campbell")


def test_wordfreq_data_ships_in_the_wheel() -> None:
    """Nothing is fetched: the lists load with the network unreachable (no proxy, no DNS)."""
    code = "from deid.text import vocabulary as v; assert v.is_language_word('morning')"
    env = {"PATH": "/usr/bin:/bin", "HTTPS_PROXY": "http://127.0.0.1:9", "no_proxy": ""}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_names_file_matches_names_dataset() -> None:
    """``scripts/generate_vocabulary.py --check``: the derived list is what the package gives."""
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "generate_vocabulary.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_medical_words_file_matches_pydicom() -> None:
    """The shipped words of medicine are what the installed pydicom's dictionaries give."""
    assert sorted(vocab.medical_words()) == vocab.derive_medical_words()
