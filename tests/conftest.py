"""Shared fixtures. Qt runs offscreen; every test gets its own IMR_DESK_HOME.

The store's tests run on both engines: a test that asks for `engine` (the store's and the export's
`db_path`, hence `db` and everything built on it) runs once on an SQLite file and once on a fresh
database of a throwaway PostgreSQL cluster (tests/pgserver.py, started once per session). A test
about SQLite files as such (permissions, WAL, a damaged file) is marked `sqlite_only`. Without the
PostgreSQL server's binaries the PostgreSQL runs are skipped, saying why; under CI (CI set) they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.pgserver import PgCluster, bin_dir

if TYPE_CHECKING:
    from imr_desk.store import Database

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


ENGINES = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" in metafunc.fixturenames:
        sqlite_only = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("engine", ["sqlite"] if sqlite_only else list(ENGINES))


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A throwaway PostgreSQL cluster for the whole session (its own folder, port and socket; fsync off)."""
    if bin_dir() is None:
        why = ("no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql: "
               "run `bash packaging/bootstrap.sh --dev`, which installs Debian's postgresql package")
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    cluster = PgCluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """The URL of a fresh, empty database on the test cluster, dropped after the test."""
    from imr_desk.store.engine import close_pools

    name = pg_cluster.create_database()
    url = pg_cluster.url(name)
    yield url
    close_pools(url)
    pg_cluster.drop_database(name)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where a test's review database lives (the UI tests start theirs from a template)."""
    return tmp_path / "review.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    """A real review database on disk, opened as the clerk alice."""
    from imr_desk.store import Database

    database = Database.open(db_path, user="alice")
    yield database
    database.close()


@pytest.fixture
def data_dir() -> Path:
    return DATA
