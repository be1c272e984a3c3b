"""Each file in broken/ has one fault; its first line says the line and message expected.

Format: ``# expect: [FILE:]LINE: message prefix`` (FILE when the error belongs to another
file, e.g. the far end of an extends cycle).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deid.errors import RecipeError
from deid.recipe import check_file, load_recipe

BROKEN = Path(__file__).resolve().parent / "broken"
EXPECT = re.compile(r"^# expect: (?:(?P<file>[\w.-]+\.yaml):)?(?P<line>\d+): (?P<message>.*)$")


def _cases() -> list[Path]:
    return sorted(BROKEN.glob("*.yaml"))


def _expectation(path: Path) -> tuple[str, int, str]:
    match = EXPECT.match(path.read_text(encoding="utf-8").splitlines()[0])
    assert match, f"{path.name}: first line must be '# expect: LINE: message'"
    return match["file"] or path.name, int(match["line"]), match["message"].rstrip()


def test_there_are_enough_broken_recipes():
    assert len(_cases()) >= 25


@pytest.mark.parametrize("path", _cases(), ids=lambda p: p.stem)
def test_broken_recipe_reports_its_fault(path: Path):
    file, line, message = _expectation(path)
    diagnostics = check_file(path).diagnostics
    assert diagnostics, f"{path.name} validated but should not"
    assert len(diagnostics) == 1, "one fault per file: " + "; ".join(map(str, diagnostics))
    found = diagnostics[0]
    assert Path(found.path).name == file
    assert found.line == line, str(found)
    assert found.message.startswith(message), str(found)


@pytest.mark.parametrize("path", _cases()[:5], ids=lambda p: p.stem)
def test_load_recipe_raises_the_first_error_as_file_line_column(path: Path):
    with pytest.raises(RecipeError) as caught:
        load_recipe(path)
    assert re.match(r"^\S+\.yaml:\d+:\d+: ", str(caught.value))


def test_key_name_error_does_not_echo_what_was_written():
    """Text written where a variable name belongs may be the key: no message repeats it."""
    diagnostics = check_file(BROKEN / "key_name_not_env.yaml").diagnostics
    assert diagnostics and not any("hunter2" in str(d) for d in diagnostics)
