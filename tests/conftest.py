"""Shared fixtures. Qt runs offscreen; every test gets its own IMR_DESK_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["QT_QPA_PLATFORM"] = "offscreen"

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SHARED = ROOT.parent / "shared"


@pytest.fixture(autouse=True)
def imr_home(tmp_path_factory, monkeypatch) -> Path:
    """Point the data directory, settings and logs at a fresh folder for every test."""
    home = tmp_path_factory.mktemp("imr-home")
    monkeypatch.setenv("IMR_DESK_HOME", str(home))
    return home


@pytest.fixture
def data_dir() -> Path:
    return DATA
