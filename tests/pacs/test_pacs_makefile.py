"""`make test` installs the PACS tests' servers (``make -n``: nothing runs), so CI has Orthanc."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_test_system_deps_install_orthanc_and_its_dicomweb_plugin():
    dry = subprocess.run(
        ["make", "-n", "-C", str(REPO), "test-system-deps"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "orthanc orthanc-dicomweb" in dry
    assert "apt-get install -y -qq --no-upgrade" in dry
    assert "/usr/share/orthanc/plugins/libOrthancDicomWeb.so" in dry


def test_pyproject_test_extra_pulls_the_pacs_libraries():
    text = (REPO / "pyproject.toml").read_text()
    assert '"deid-pipeline[pacs]"' in text
    assert "dicomweb-client" in text and "pynetdicom" in text
