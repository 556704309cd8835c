"""The PostgreSQL store, side by side with SQLite in one run.

1. **Receivers.** Sender processes POST signed fee pushes of 50 distinct CDRs each (a fresh
   connection and nonce per push, as the platform sends them) to: one SQLite receiver; one
   PostgreSQL receiver; two PostgreSQL receivers on one database, the senders spread over both.
   Each line gives CDRs/s, p50/p99 from sending a push to its 200, and checks every CDR was
   stored exactly once.
2. **Frames.** ``cdr_frame`` of the same CDRs (1M by default) from PostgreSQL and from SQLite.
3. **Copy.** ``python -m toolkit store copy`` of a SQLite store into PostgreSQL, then back.

    python benchmarks/postgres.py [--pushes 100] [--senders 4] [--frame-cdrs 1000000]
                                  [--copy-cdrs 200000] [--rounds 1] [--compare-with DIR]

``--compare-with DIR`` runs the PostgreSQL receivers of another tree too (e.g. the old one, from
``git archive main | tar -x -C DIR``), interleaved with these; ``--rounds`` repeats every receiver
run and prints the medians (other work on the machine makes single runs noisy).

PostgreSQL is a throwaway cluster (tests/pgcluster.py) with fsync on, unless
$TOOLKIT_TEST_POSTGRES_URL names a server (a role that may create databases). Loopback only;
bounded by push counts and a deadline per sender.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import random
import secrets
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import pgcluster

# The receiver benchmark's pushes of 50 CDRs, each signed and sent over a fresh connection as it
# sends them (the app key and secret come from the environment, which main() fills).
from receiver import CDRS_PER_PUSH, fee_push, post

DEADLINE = 60.0  # seconds a sender may run before it stops early
KEY = "AbCdEf0123456789"


def sender(urls: list[str], tag: str, pushes: int, start: mp.Event, results: mp.Queue) -> None:
    targets = [(urlsplit(u).hostname, urlsplit(u).port) for u in urls]
    bodies = [fee_push(f"{tag}-{j}") for j in range(pushes)]
    start.wait()
    latencies, failures = [], 0
    began = time.perf_counter()
    for j, body in enumerate(bodies):
        host, port = targets[j % len(targets)]  # round robin, as a load balancer would
        t0 = time.perf_counter()
        try:
            ok = post(host, port, body) == 200
        except OSError:
            ok = False
        if ok:
            latencies.append(time.perf_counter() - t0)
        else:
            failures += 1
        if time.perf_counter() - began > DEADLINE:
            break
    results.put((latencies, failures, began, time.perf_counter()))


def run_load(
    urls: list[str], name: str, pushes: int, senders: int, pids: list[int]
) -> dict[str, float]:
    """Send the pushes; the figures, with the CPU the receivers (``pids``) and the PostgreSQL
    server used per 1,000 CDRs acknowledged (the work, whatever share of the cores it got)."""
    for url in urls:
        post(urlsplit(url).hostname, urlsplit(url).port, fee_push(f"{name}-warmup-{url}"))
    start, results = mp.Event(), mp.Queue()
    procs = [
        mp.Process(target=sender, args=(urls, f"{name}-{i}", pushes, start, results))
        for i in range(senders)
    ]
    for p in procs:
        p.start()
    time.sleep(1.0)  # let every sender build its bodies before the clock starts
    receiver_cpu, postgres_cpu = sum(map(process_cpu, pids)), server_cpu()
    start.set()
    outcome = [results.get(timeout=DEADLINE * 2) for _ in procs]
    receiver_cpu = sum(map(process_cpu, pids)) - receiver_cpu
    postgres_cpu = server_cpu() - postgres_cpu
    for p in procs:
        p.join()
    latencies = sorted(x for lat, _, _, _ in outcome for x in lat)
    acked = len(latencies) * CDRS_PER_PUSH
    elapsed = max(o[3] for o in outcome) - min(o[2] for o in outcome)
    return {
        "cdrs": acked,
        "failures": sum(o[1] for o in outcome),
        "rate": acked / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "receiver_cpu": receiver_cpu / max(acked, 1) * 1e6,  # ms per 1,000 CDRs
        "postgres_cpu": postgres_cpu / max(acked, 1) * 1e6,
    }


@contextlib.contextmanager
def receivers(
    db: str, count: int, tree: str | None = None
) -> Iterator[tuple[list[str], list[int]]]:
    """``count`` receivers on ``db``: their URLs and pids. ``tree``: run that tree's toolkit."""
    procs, urls = [], []
    env = {**os.environ, "PYTHONPATH": tree} if tree else None
    try:
        for _ in range(count):
            proc = subprocess.Popen(
                [sys.executable, "-m", "toolkit", "receiver", "--db", db],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                cwd=tree,  # python -m looks in the working directory first
                env=env,
            )
            procs.append(proc)
            url = proc.stdout.readline().strip()
            if not url.startswith("http"):
                raise SystemExit(f"receiver did not start on {db}")
            urls.append(url)
        yield urls, [p.pid for p in procs]
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)
            proc.stdout.close()


def stored(db: str) -> tuple[int, int]:
    from toolkit.store import Store

    with Store(db, readonly=True) as store:
        sql = "SELECT count(*) AS n, count(DISTINCT icid) AS d FROM cdrs"
        (row,) = store.query(sql + " WHERE icid NOT LIKE '%warmup%'")
    return row["n"], row["d"]


def report(name: str, result: dict[str, float], rows: tuple[int, int]) -> None:
    once = "exactly once" if rows[0] == rows[1] == result["cdrs"] else f"STORED {rows}"
    print(
        f"{name:<34} {result['rate']:8.0f} CDRs/s   p50 {result['p50']:6.1f} ms   "
        f"p99 {result['p99']:6.1f} ms   {int(result['cdrs'])} CDRs acked, "
        f"{int(result['failures'])} failed, {once}   {load()}\n"
        f"{'':<34} CPU per 1,000 CDRs: receivers {result['receiver_cpu']:.0f} ms, "
        f"PostgreSQL {result['postgres_cpu']:.0f} ms",
        flush=True,
    )


def load() -> str:
    """The machine's load, printed beside every figure (other work shares the cores)."""
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def new_database(server: str) -> str:
    import psycopg

    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return urlunsplit(urlsplit(server)._replace(path=f"/{name}"))


def template_rows(count: int = 2000) -> list[tuple]:
    """Store rows of ``count`` varied CDRs (answered, busy, unanswered, VoiceCall)."""
    from toolkit.store import prepare

    rng = random.Random(7)
    infos = []
    for k in range(count):
        start = 1_709_000_000 + rng.randrange(30 * 86_400)
        answered = rng.random() < 0.6

        def at(t: int) -> str:
            return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))

        info = {
            "icid": f"t{k}",
            "sessionId": f"s{k}",
            "direction": rng.choice((0, 1)),
            "bindNum": f"+86170000{rng.randrange(100):05d}",
            "subscriptionId": f"sub-{rng.randrange(5000)}",
            "callInTime": at(start),
            "fwdAlertingTime": at(start + 3),
            "callEndTime": at(start + 3 + rng.randrange(600)),
            "ulFailReason": 0 if answered else rng.choice((8102, 8103, 8104)),
            "fwdUnaswRsn": 0 if answered else rng.choice((17, 18, 19)),
            "sipStatusCode": 0 if answered else rng.choice((486, 480, 408)),
        }
        if answered:
            info["fwdAnswerTime"] = at(start + 5)
        infos.append(info)
    return [row for info in infos for row in prepare({"eventType": "fee", "feeLst": [info]}).cdrs]


def fake_rows(count: int) -> Iterator[tuple]:
    """``count`` CDR rows with seq and distinct keys, cycling through the templates."""
    from toolkit.store import CDR_COLUMNS

    key, icid, session = (CDR_COLUMNS.index(c) - 1 for c in ("dedupe_key", "icid", "session_id"))
    templates = template_rows()
    for n in range(count):
        row = list(templates[n % len(templates)])
        row[key], row[icid], row[session] = f"pn:u:icid:f{n}", f"f{n}", f"fs{n}"
        yield (n + 1, *row)


def fill_sqlite(path: str, count: int) -> None:
    from toolkit.store import CDR_COLUMNS, Store

    Store(path).close()
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        marks = ", ".join("?" * len(CDR_COLUMNS))
        conn.executemany(f"INSERT INTO cdrs VALUES ({marks})", fake_rows(count))


def fill_postgres(url: str, count: int) -> None:
    import psycopg

    from toolkit.pgstore import PgStore
    from toolkit.store import CDR_COLUMNS

    PgStore(url).close()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY cdrs ({', '.join(CDR_COLUMNS)}) FROM STDIN") as copy:
            for row in fake_rows(count):
                copy.write_row(row)
        cur.execute("ANALYZE cdrs")


def process_cpu(pid: int) -> float:
    """CPU seconds used so far by process ``pid`` (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


POSTMASTER: list[int] = []  # the pid of the benchmark's PostgreSQL server, once known


def find_postmaster(server: str) -> None:
    """Note the pid of ``server``'s postmaster (the parent of our backend), if it runs here."""
    import psycopg

    with psycopg.connect(server) as conn:
        backend = conn.info.backend_pid
    try:
        with open(f"/proc/{backend}/stat") as stat:
            POSTMASTER.append(int(stat.read().rsplit(")", 1)[1].split()[1]))
    except OSError:
        pass  # a server on another machine: its CPU is not counted


def server_cpu() -> float:
    """CPU seconds used so far by the benchmark's PostgreSQL server: the postmaster, the
    children it reaped and those still running (other servers on the machine are left out)."""
    if not POSTMASTER:
        return 0.0
    ticks = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError, IndexError):
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            if int(pid) == POSTMASTER[0]:  # utime stime cutime cstime
                ticks += sum(int(f) for f in fields[11:15])
            elif int(fields[1]) == POSTMASTER[0]:
                ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


# The frame timing run in another tree: warm once, then the best of two (wall and CPU seconds).
OLD_FRAME = """
import sys, time
import pandas
from toolkit.frame import cdr_frame
cdr_frame(sys.argv[1])
best = None
for _ in range(2):
    began, cpu = time.perf_counter(), time.process_time()
    cdr_frame(sys.argv[1])
    best = min(best or (1e9, 0), (time.perf_counter() - began, time.process_time() - cpu))
print(*best)
"""


def timed(fn, *args) -> tuple[float, float, float]:
    """Wall seconds, this process's CPU seconds and the PostgreSQL server's, for one call."""
    began, cpu, server = time.perf_counter(), time.process_time(), server_cpu()
    fn(*args)
    return time.perf_counter() - began, time.process_time() - cpu, server_cpu() - server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=100, help="pushes per sender and run")
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--frame-cdrs", type=int, default=1_000_000)
    parser.add_argument("--copy-cdrs", type=int, default=200_000, help="0 skips the copy")
    parser.add_argument("--rounds", type=int, default=1, help="receiver runs, interleaved")
    parser.add_argument(
        "--compare-with", metavar="DIR", help="also run the receivers of this tree (an old one)"
    )
    args = parser.parse_args()
    os.environ.setdefault("PRIVATENUMBER_APP_KEY", KEY)
    os.environ.setdefault("PRIVATENUMBER_APP_SECRET", secrets.token_urlsafe(24))
    given = os.environ.get(pgcluster.ENV)
    with (
        contextlib.nullcontext(given) if given else pgcluster.cluster(durable=True) as server,
        tempfile.TemporaryDirectory(prefix="toolkit-bench-pg-") as tmp,
    ):
        find_postmaster(server)
        print(f"receivers: {args.senders} senders x {args.pushes} pushes of 50 CDRs", flush=True)
        runs = [("SQLite, one receiver", "lite", 1, None)]
        for count in (1, 2):
            name = f"PostgreSQL, {count} receiver{'s' * (count > 1)}"
            runs.append((name, "pg", count, None))
            if args.compare_with:
                runs.append((f"{name} (old)", "pg", count, args.compare_with))
        rates: dict[str, list[float]] = {}
        for round_ in range(args.rounds):
            for name, kind, count, tree in runs:
                db = os.path.join(tmp, f"receiver{round_}.db") if kind == "lite" else None
                db = db or new_database(server)
                with receivers(db, count, tree) as (urls, pids):
                    result = run_load(
                        urls, f"{kind}{count}-{round_}", args.pushes, args.senders, pids
                    )
                report(name, result, stored(db))
                rates.setdefault(name, []).append(result["rate"])
        if args.rounds > 1:
            print(
                "median of the rounds:",
                ", ".join(f"{name} {statistics.median(r):.0f} CDRs/s" for name, r in rates.items()),
                flush=True,
            )

        import pandas  # noqa: F401 (imported before the clock starts, as in a notebook)

        from toolkit.frame import cdr_frame

        n = args.frame_cdrs
        frame_lite, frame_pg = os.path.join(tmp, "frame.db"), new_database(server)
        fill_sqlite(frame_lite, n)
        fill_postgres(frame_pg, n)
        frames = [(frame_pg, "PostgreSQL", None), (frame_lite, "SQLite", None)]
        if args.compare_with:
            frames.insert(1, (frame_pg, "PostgreSQL (old)", args.compare_with))
        for source, name, tree in frames:
            if tree:  # the other tree's cdr_frame, in a process of its own
                server_at = server_cpu()
                done = subprocess.run(
                    [sys.executable, "-c", OLD_FRAME, source],
                    cwd=tree,
                    env={**os.environ, "PYTHONPATH": tree},
                    capture_output=True,
                    text=True,
                    check=True,
                )
                seconds, cpu = map(float, done.stdout.split())
                server_s = (server_cpu() - server_at) / 3  # it read three times, as below
            else:
                cdr_frame(source)  # warm: the first read also pulls the table into the cache
                seconds, cpu, server_s = min(timed(cdr_frame, source) for _ in range(2))
            print(
                f"frame of {n:,} CDRs from {name:<17} {seconds:6.2f} s   "
                f"(CPU: {cpu:.2f} s here, {server_s:.2f} s PostgreSQL)   {load()}",
                flush=True,
            )

        if not args.copy_cdrs:
            return 0
        source, back, target = os.path.join(tmp, "copy.db"), os.path.join(tmp, "back.db"), None
        fill_sqlite(source, args.copy_cdrs)
        target = new_database(server)
        for src, dst, name in ((source, target, "SQLite -> PostgreSQL"), (target, back, None)):
            name = name or "PostgreSQL -> SQLite"
            for run in ("first", "again"):
                began = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-m", "toolkit", "store", "copy", src, dst],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                seconds = time.perf_counter() - began
                copied = done.stdout.split(" from ")[0]
                print(f"copy {name} ({run}): {seconds:6.1f} s, {copied}   {load()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
