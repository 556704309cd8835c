"""Opening a store: a damaged, foreign or unwritable file is refused at once with one line, a
read-only store is read without writing, and reads only ever raise ``StoreError``.

Root bypasses file permissions, so the permission tests run their command through ``setpriv``
with the two capabilities that do the bypassing dropped (as any other user they run directly).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from builders import fee_body, fee_info
from store_helpers import damage, table_pages

from toolkit import tail
from toolkit.store import Store, StoreError

ENV = {**os.environ, "PRIVATENUMBER_APP_KEY": "", "PRIVATENUMBER_APP_SECRET": ""}


def make_store(path: Path, n: int = 300) -> Path:
    """A closed store of ``n`` answered CDRs (its WAL checkpointed and removed)."""
    with Store(path) as store:
        for start in range(0, n, 50):
            store.add(fee_body(*[fee_info(i) for i in range(start, min(n, start + 50))]))
    assert not Path(f"{path}-wal").exists()
    return path


def damaged_store(path: Path) -> Path:
    """A store whose every page but the first (the schema) is noise: it opens, reads fail."""
    make_store(path)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    damage(path, list(range(2, pages + 1)))
    return path


def foreign_store(path: Path) -> Path:
    """Another program's database that happens to have an ``events`` table."""
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, session_id TEXT, body TEXT)")
        conn.execute("INSERT INTO events (session_id, body) VALUES ('s1', 'hello')")
    return path


def unprivileged() -> list[str]:
    """A command prefix under which file permissions apply, even to root."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:  # pragma: no cover - util-linux is on every machine of this project
        pytest.skip("root without setpriv: file permissions cannot be tested")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def run_receiver(db: Path, *prefix: str) -> subprocess.CompletedProcess[str]:
    command = [*prefix, sys.executable, "-m", "toolkit", "receiver", "--port", "0"]
    try:
        return subprocess.run(
            [*command, "--db", str(db), "--allow-unsigned"],
            capture_output=True,
            text=True,
            timeout=20,
            env=ENV,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the receiver started on a store it must refuse")


# -- refused at opening ------------------------------------------------------------------------


def test_a_store_with_a_damaged_cdrs_page_is_refused(tmp_path: Path) -> None:
    path = make_store(tmp_path / "damaged.db")
    leaves = table_pages(path, "cdrs")
    damage(path, [leaves[len(leaves) // 2]])  # one page in the middle of the table
    with pytest.raises(StoreError) as info:
        Store(path)
    message = str(info.value)
    assert message.startswith(f"cannot open store at {path}:") and "\n" not in message
    assert "damaged" in message or "malformed" in message


def test_a_file_of_random_bytes_is_refused_and_an_empty_file_is_a_new_store(tmp_path: Path) -> None:
    noise = tmp_path / "noise.db"
    noise.write_bytes(os.urandom(64 * 1024))
    with pytest.raises(StoreError, match="not a database"):
        Store(noise)
    empty = tmp_path / "empty.db"
    empty.touch()
    with Store(empty) as store:
        assert store.add(fee_body(fee_info(1))) == 1


def test_a_foreign_events_table_is_refused_naming_the_table_and_columns(tmp_path: Path) -> None:
    path = foreign_store(tmp_path / "foreign.db")
    with pytest.raises(StoreError) as info:
        Store(path)
    message = str(info.value)
    assert "events table" in message and "dedupe_key" in message and "event_type" in message
    assert "\n" not in message
    with contextlib.closing(sqlite3.connect(path)) as conn:  # and nothing was added to it
        names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert names == {"events"}


@pytest.mark.parametrize("make", [damaged_store, foreign_store], ids=["damaged", "foreign"])
def test_the_receiver_refuses_to_start_on_a_store_it_cannot_use(tmp_path: Path, make) -> None:
    result = run_receiver(make(tmp_path / "bad.db"))
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.startswith("cannot start the receiver: cannot open store at ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize("locked", ["file", "directory"])
def test_the_receiver_refuses_to_start_on_a_store_it_cannot_write(
    tmp_path: Path, locked: str
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = make_store(folder / "pushes.db", n=3)
    target = path if locked == "file" else folder
    target.chmod(0o444 if locked == "file" else 0o555)
    try:
        result = run_receiver(path, *unprivileged())
    finally:
        target.chmod(0o644 if locked == "file" else 0o755)
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.startswith("cannot start the receiver: cannot open store at ")
    assert "readonly" in result.stderr or "unable to open" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


# -- read-only -------------------------------------------------------------------------------


def test_a_read_only_store_reads_and_never_writes(tmp_path: Path) -> None:
    path = make_store(tmp_path / "s.db", n=3)
    before = path.read_bytes()
    with Store(path, readonly=True) as store:
        assert store.count() == 3 and "read-only" in repr(store)
        with pytest.raises(StoreError, match="read-only"):
            store.add(fee_body(fee_info(99)))
        with Store(path) as writer:  # a receiver writing meanwhile is seen at once
            writer.add(fee_body(fee_info(4)))
            assert store.count() == 4
    missing = tmp_path / "missing.db"
    with pytest.raises(StoreError, match="no such file"):
        Store(missing, readonly=True)
    assert not missing.exists()
    assert Store(path, readonly=True).close() is None  # opens again after a writer came and went
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT count(*) FROM cdrs").fetchone()[0] == 4
    assert before != path.read_bytes()  # (the writer's change, checkpointed on its close)


def test_tail_reads_a_store_in_a_read_only_directory(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = make_store(folder / "pushes.db", n=3)
    content = path.read_bytes()
    path.chmod(0o444)
    folder.chmod(0o555)
    try:
        result = subprocess.run(
            [*unprivileged(), sys.executable, "-m", "toolkit", "tail", "--db", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3 and "answered" in result.stdout
    assert sorted(os.listdir(folder)) == ["pushes.db"] and path.read_bytes() == content


# -- reading a store that went bad -------------------------------------------------------------


def test_reads_of_a_damaged_store_raise_store_error(tmp_path: Path) -> None:
    path = make_store(tmp_path / "s.db")
    with Store(path) as store:  # sound when opened, damaged under the open store
        with contextlib.closing(sqlite3.connect(path)) as conn:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
        damage(path, list(range(2, pages + 1)))
        reads = {
            "count": store.count,
            "counts": store.counts,
            "cdrs": store.cdrs,
            "last": lambda: store.cdrs(last=5),
            "changes": store.changes,
            "last_seq": store.last_seq,
            "query": lambda: store.query("SELECT raw FROM cdrs"),
        }
        for name, read in reads.items():
            with pytest.raises(StoreError):
                read()
                pytest.fail(f"{name} read a damaged store without an error")


def test_tail_reports_a_damaged_store_in_one_line(tmp_path: Path, capsys) -> None:
    path = damaged_store(tmp_path / "s.db")
    assert tail.main(["--db", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(f"cannot read {str(path)!r}: ")
    assert captured.err.count("\n") == 1


def test_sigterm_after_the_store_went_bad_stops_cleanly(tmp_path: Path) -> None:
    db = make_store(tmp_path / "pushes.db")
    proc = subprocess.Popen(
        [sys.executable, "-m", "toolkit", "receiver", "--db", str(db), "--allow-unsigned"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read()
        assert requests.post(url + "/fee", json=fee_body(fee_info(1000)), timeout=10).ok
        # The disk fails under the running receiver: every page but the schema is lost (the
        # few pages of the last push, still in the WAL, are written back when it closes).
        with contextlib.closing(sqlite3.connect(db)) as conn:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
        damage(db, list(range(2, pages + 1)))
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err
    assert err.strip().splitlines()[-1].endswith("the store holds an unreadable store")
