"""A throwaway PostgreSQL cluster for the tests and the benchmarks: ``initdb`` in a temporary
directory, a server on 127.0.0.1 and a free port, stopped and deleted afterwards.

PostgreSQL refuses to run as root, so under root (CI containers) the cluster belongs to the
``postgres`` user that Debian's package creates, and its commands run through ``runuser``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["ENV", "bindir", "cluster", "unavailable_reason"]

# An existing server to use instead, as a role that may CREATE DATABASE.
ENV = "TOOLKIT_TEST_POSTGRES_URL"
USER = "toolkit"


def bindir() -> str | None:
    """The directory of ``initdb`` and ``pg_ctl``: Debian's newest version, else the PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _version(path: str) -> float:
    try:
        return float(Path(path).parent.parent.name)
    except ValueError:
        return 0.0


def unavailable_reason() -> str | None:
    """Why no cluster can be started here, or ``None`` if it can."""
    if bindir() is None:
        return f"PostgreSQL is not installed (apt-get install postgresql), and ${ENV} is not set"
    if os.geteuid() == 0 and not _has_user("postgres"):
        return "running as root without a 'postgres' user to run PostgreSQL as"
    return None


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def cluster(*, durable: bool = False) -> Iterator[str]:
    """Start a cluster; yield the URL of its ``postgres`` database (superuser ``toolkit``).

    ``durable=False`` turns fsync off: fine for tests, whose data is thrown away; benchmarks pass
    ``durable=True`` so that a commit costs what it costs in production.
    """
    bin_dir = bindir()
    if bin_dir is None:
        raise RuntimeError(unavailable_reason() or "no PostgreSQL")
    base = tempfile.mkdtemp(prefix="toolkit-pg-")
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log = os.path.join(base, "data"), os.path.join(base, "server.log")
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c max_connections=200"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"

    def run(*args: str) -> None:
        subprocess.run(
            [*prefix, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    try:
        run(
            f"{bin_dir}/initdb", "-D", data, "-U", USER, "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        run(f"{bin_dir}/pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "-o", options, "start")
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    try:
        yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            run(f"{bin_dir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)
