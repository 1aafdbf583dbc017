"""Shared paths of the rad3d Python tests.

Fixtures come from ``$RAD3D_FIXTURES`` (default: ``../shared/fixtures`` next to the
checkout, as the Rust tests find them); METEOR's data from ``$RAD3D_ASSETS/meteor`` (or the
checkout's ``target/assets/meteor``); the ``rad3d`` binary, when a test compares with it,
from ``$RAD3D_BIN``.
"""

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def fixtures_dir() -> Path:
    env = os.environ.get("RAD3D_FIXTURES")
    return Path(env) if env else REPO.parent / "shared" / "fixtures"


def meteor_dir() -> Path:
    env = os.environ.get("RAD3D_ASSETS")
    base = Path(env) if env else REPO / "target" / "assets"
    return base / "meteor"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    d = fixtures_dir()
    assert (d / "metrics" / "public_refs.txt").is_file(), f"no fixtures at {d} (set RAD3D_FIXTURES)"
    return d


@pytest.fixture(scope="session")
def metrics_fixture(fixtures: Path) -> dict:
    m = fixtures / "metrics"

    def lines(name: str) -> list:
        return (m / name).read_text(encoding="utf-8").splitlines()

    return {
        "refs": lines("public_refs.txt"),
        "hyps": lines("public_hyps.txt"),
        "refs_tok": lines("public_refs.tok.txt"),
        "hyps_tok": lines("public_hyps.tok.txt"),
        "dir": m,
    }


@pytest.fixture(scope="session")
def meteor_data() -> Path:
    d = meteor_dir()
    assert (d / "paraphrase-en.gz").is_file(), (
        f"no METEOR data at {d}: run scripts/fetch-assets.sh or set RAD3D_ASSETS"
    )
    return d


@pytest.fixture(scope="session")
def rad3d_bin():
    """The ``rad3d`` command line named by ``$RAD3D_BIN``; tests comparing with it skip
    without it (CI sets it to the binary it installs)."""
    b = os.environ.get("RAD3D_BIN") or shutil.which("rad3d")
    if not b:
        pytest.skip("RAD3D_BIN not set")
    return b
