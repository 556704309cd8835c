"""Shared fixtures: an emulator in-process and on port 0, a client wired to each, and a temporary
store. The emulator tests have more in ``emulator/conftest.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from toolkit.emulator import Emulator
from toolkit.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty store in a temporary file, closed after the test."""
    with Store(tmp_path / "pushes.db") as s:
        yield s


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """An in-process emulator (AXB default app), calls played at once."""
    emu = Emulator("axb", time_scale=0, seed=7)
    yield emu
    emu.stop()


@pytest.fixture(params=["in-process", "server"])
def any_emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """An emulator reached in-process, then the same tests over HTTP (port 0)."""
    emu = Emulator("axb", time_scale=0, seed=7)
    if request.param == "server":
        emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def client(any_emulator: Emulator) -> Any:
    """A PrivateNumberClient wired to ``any_emulator`` (both ways)."""
    c = any_emulator.client()
    yield c
    c.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server's maintenance database, as a role that may create
    databases: ``$TOOLKIT_TEST_POSTGRES_URL`` if set, else a throwaway cluster started here
    (tests/pgcluster.py). Skipped locally when neither is possible; under CI=true it fails."""
    import os

    import pgcluster
    from services import unavailable

    given = os.environ.get(pgcluster.ENV)
    if given:
        yield given
        return
    reason = pgcluster.unavailable_reason()
    if reason:
        unavailable(reason)
    with pgcluster.cluster() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database of its own for one test; dropped afterwards."""
    import uuid

    try:
        import psycopg
    except ImportError:
        from services import unavailable

        unavailable('psycopg is not installed: pip install -e ".[postgres]"')
    name = f"toolkit_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    from urllib.parse import urlsplit, urlunsplit

    yield urlunsplit(urlsplit(postgres_server)._replace(path=f"/{name}"))
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
