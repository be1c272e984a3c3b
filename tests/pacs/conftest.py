"""Fixtures of the PACS tests: one pair of real Orthanc servers for the whole session.

"clinical" (AE CLINICAL, no authentication) is seeded with the bundled example export
(examples/make_export.py); "research" (AE RESEARCH, HTTP basic authentication on, one
registered user) receives. Both start in about a second and are stopped at the end of the
session, even when tests fail. Without the orthanc binary the tests skip with that reason;
`make test` installs Debian's orthanc and orthanc-dicomweb, so CI has them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pacs_servers import OrthancServer, find_dicomweb_plugin, find_orthanc

REPO = Path(__file__).resolve().parents[2]
RESEARCH_USER = ("deid-research", "research-s3cret-password")


def _require_orthanc() -> None:
    if find_orthanc() is None:
        pytest.skip("Orthanc is not installed (make test installs Debian's orthanc)")
    if find_dicomweb_plugin() is None:
        pytest.skip("the Orthanc DICOMweb plugin is not installed (Debian's orthanc-dicomweb)")


@pytest.fixture(scope="session")
def example_files(tmp_path_factory) -> list[Path]:
    sys.path.insert(0, str(REPO / "examples"))
    from make_export import build_export

    return build_export(tmp_path_factory.mktemp("pacs-export") / "export", seed=16)


@pytest.fixture(scope="session")
def orthanc_pair(tmp_path_factory, example_files):
    """(clinical, research, seeded SOP Instance UIDs of clinical)."""
    _require_orthanc()
    root = tmp_path_factory.mktemp("orthanc")
    clinical = OrthancServer("clinical", "CLINICAL", root / "clinical")
    research = OrthancServer("research", "RESEARCH", root / "research", users=dict([RESEARCH_USER]))
    try:
        clinical.start()
        research.start()
        for path in example_files:
            clinical.upload(path.read_bytes())
        yield clinical, research
    finally:
        clinical.stop()
        research.stop()


@pytest.fixture(scope="session")
def clinical(orthanc_pair) -> OrthancServer:
    return orthanc_pair[0]


@pytest.fixture(scope="session")
def research(orthanc_pair) -> OrthancServer:
    return orthanc_pair[1]


@pytest.fixture
def research_env(monkeypatch, research):
    """The research server's credentials where deid reads a destination's (environment)."""
    monkeypatch.setenv("DEID_DEST_USERNAME", RESEARCH_USER[0])
    monkeypatch.setenv("DEID_DEST_PASSWORD", RESEARCH_USER[1])
    return research


@pytest.fixture
def throwaway(tmp_path):
    """A third server a test may stop mid-way (the session pair must stay up)."""
    _require_orthanc()
    server = OrthancServer("throwaway", "THROWAWAY", tmp_path / "orthanc")
    try:
        server.start()
        yield server
    finally:
        server.stop()
