"""Push receiver throughput: the toolkit's receiver against a naive Flask baseline.

Four sender processes POST fee pushes of 50 distinct CDRs each, one fresh connection per push (the
platform uses short connections), each push signed with a fresh nonce as the platform signs it,
first to ``python -m toolkit receiver`` verifying every signature and then, in the same
run, to a naive Flask receiver (``request.get_json()``, one INSERT and COMMIT per CDR, SQLite
defaults). For both it prints CDRs/s and the p50/p99 time from sending a push to its 200, checks
that every CDR was stored exactly once, the server's CPU time per push (steadier than rates on
a shared machine), and the ratio.

    python benchmarks/receiver.py [--pushes 150] [--baseline-pushes 10] [--senders 4]
                                  [--compare-with DIR]

``--compare-with DIR`` first runs the receiver of the toolkit in DIR (e.g. ``git archive main |
tar -x -C /tmp/old``) under the same load, so old and new are measured side by side in one run.
The senders build and sign every push (each with its own nonce) before the clock starts and send
it over a plain socket, so that their CPU, which shares the machine with the receiver, goes to
sending.

Loopback only; bounded by push counts and a deadline per sender.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit

CDRS_PER_PUSH = 50
DEADLINE = 60.0  # seconds a sender may run before it stops early
TARGET_RATE = 40_000  # CDRs/s acknowledged by the toolkit's receiver


def fee_push(tag: str) -> bytes:
    """A fee push of 50 distinct, realistic CDRs (field set of the spec's example)."""
    items = []
    for k in range(CDRS_PER_PUSH):
        items.append(
            {
                "direction": 1,
                "spId": "bench_omp",
                "appKey": "AbCdEf0123456789",
                "icid": f"{tag}.{k}",
                "bindNum": "+8617000000003",
                "sessionId": f"1200_1029_4294967295_{tag}_{k}@callenabler246.huaweicaas.com",
                "subscriptionId": "8f1c2d3e-0000-4a4a-9b9b-123456789abc",
                "callerNum": "+8613800000001",
                "calleeNum": "+8617000000003",
                "fwdDisplayNum": "+8617000000003",
                "fwdDstNum": "+8613900000002",
                "callInTime": "2024-03-01 02:15:02",
                "fwdStartTime": "2024-03-01 02:15:03",
                "fwdAlertingTime": "2024-03-01 02:15:05",
                "fwdAnswerTime": "2024-03-01 02:15:09",
                "callEndTime": "2024-03-01 02:17:40",
                "fwdUnaswRsn": 0,
                "ulFailReason": 0,
                "sipStatusCode": 0,
                "callOutUnaswRsn": 0,
                "recordFlag": 1,
                "recordStartTime": "2024-03-01 02:15:09",
                "recordDomain": "ostor.huawei.com",
                "recordBucketName": "sp-abcdef0123456789",
                "recordObjectName": "24030102150912050118304.wav",
                "ttsPlayTimes": 0,
                "ttsTransDuration": 0,
                "mptyId": "8f1c2d3e-0000-4a4a-9b9b-123456789abc",
                "serviceType": "004",
                "hostName": "callenabler246.huaweicaas.com",
            }
        )
    return json.dumps({"eventType": "fee", "feeLst": items}).encode()


def signed(host: str, port: int, body: bytes) -> bytes:
    """The whole HTTP request of one push, signed with a fresh nonce as the platform signs it."""
    from toolkit.auth import sign_headers

    headers = {
        "Host": f"{host}:{port}",
        "Content-Type": "application/json;charset=UTF-8",
        "Content-Length": str(len(body)),
        **sign_headers(os.environ["PRIVATENUMBER_APP_KEY"], os.environ["PRIVATENUMBER_APP_SECRET"]),
    }
    head = "POST /fee HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (head + "\r\n").encode("latin-1") + body


def send(host: str, port: int, request: bytes) -> int:
    """Send one request over a fresh connection; the status of its answer (read whole).

    A plain socket rather than http.client: the senders share the machine's two cores with the
    receiver, and http.client's header parsing cost them more CPU than the receiver's own.
    """
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed before the answer's head")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = next(
            (
                int(v)
                for k, _, v in (x.partition(b":") for x in lines[1:])
                if k.lower() == b"content-length"
            ),
            None,
        )
        while (
            length is None or len(rest) < length
        ):  # no length: the answer ends with the connection
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    return status


def post(host: str, port: int, body: bytes) -> int:
    """Sign ``body`` with a fresh nonce, send it to ``/fee`` over a fresh connection: the status."""
    return send(host, port, signed(host, port, body))


def sender(url: str, tag: str, pushes: int, start: mp.Event, results: mp.Queue) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port
    # Built and signed before the clock starts, each with a nonce of its own: the receiver still
    # verifies a fresh signature per push, and the senders' CPU goes to sending.
    requests = [signed(host, port, fee_push(f"{tag}-{j}")) for j in range(pushes)]
    start.wait()
    latencies, failures = [], 0
    cpu = time.process_time()
    began = time.perf_counter()
    for request in requests:
        t0 = time.perf_counter()
        try:
            ok = send(host, port, request) == 200
        except OSError:
            ok = False
        if ok:
            latencies.append(time.perf_counter() - t0)
        else:
            failures += 1
        if time.perf_counter() - began > DEADLINE:
            break
    results.put((latencies, failures, began, time.perf_counter(), time.process_time() - cpu))


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far; None where /proc is missing."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(url: str, name: str, pushes: int, senders: int, pid: int) -> dict[str, float]:
    post(urlsplit(url).hostname, urlsplit(url).port, fee_push(f"{name}-warmup"))
    start, results = mp.Event(), mp.Queue()
    procs = [
        mp.Process(target=sender, args=(url, f"{name}-{i}", pushes, start, results))
        for i in range(senders)
    ]
    for p in procs:
        p.start()
    time.sleep(1.0)  # let every sender build its bodies before the clock starts
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    server_cpu = cpu_seconds(pid)
    start.set()
    outcome = [results.get(timeout=DEADLINE * 2) for _ in procs]
    server_cpu = None if server_cpu is None else (cpu_seconds(pid) or 0.0) - server_cpu
    for p in procs:
        p.join()
    latencies = sorted(x for o in outcome for x in o[0])
    acked = len(latencies) * CDRS_PER_PUSH
    elapsed = max(o[3] for o in outcome) - min(o[2] for o in outcome)
    return {
        "cdrs": acked,
        "failures": sum(o[1] for o in outcome),
        "seconds": elapsed,
        "rate": acked / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        # CPU per acknowledged push: what a busy shared machine does not blur as much as rates.
        "server_cpu": float("nan") if server_cpu is None else server_cpu / len(latencies) * 1000,
        "sender_cpu": sum(o[4] for o in outcome) / len(latencies) * 1000,
        "load": load,
    }


def stored(db: str, table: str, key: str) -> tuple[int, int]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows, distinct = conn.execute(
            f"SELECT count(*), count(DISTINCT {key}) FROM {table} WHERE {key} NOT LIKE '%warmup%'"
        ).fetchone()
    return rows, distinct


def start_server(cmd: list[str], tree: str | None = None) -> tuple[subprocess.Popen, str]:
    """Start a server that prints its URL first; ``tree``: the toolkit it imports (``-m``
    puts the working directory first on the path, so it runs there too)."""
    env = None if tree is None else {**os.environ, "PYTHONPATH": tree}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=tree
    )
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise SystemExit(f"server did not start: {cmd}")
    return proc, url


def serve_baseline(db: str) -> None:
    """The naive receiver: Flask's threaded dev server, one commit per CDR."""
    from flask import Flask, request
    from werkzeug.serving import make_server

    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS cdrs (icid TEXT UNIQUE, session_id TEXT, raw TEXT)"
        )
    app = Flask("baseline")

    @app.post("/<path:_path>")
    def receive(_path: str):
        body = request.get_json()
        conn = sqlite3.connect(db, timeout=30)
        try:
            for info in body["feeLst"]:
                conn.execute(
                    "INSERT OR IGNORE INTO cdrs VALUES (?, ?, ?)",
                    (info.get("icid"), info["sessionId"], json.dumps(info)),
                )
                conn.commit()
        finally:
            conn.close()
        return {"resultcode": "0", "resultdesc": "Success"}

    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.socket.listen(1024)
    print(f"http://127.0.0.1:{server.server_port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


def report(name: str, result: dict[str, float], rows: tuple[int, int]) -> None:
    once = (
        "every CDR stored once"
        if rows[0] == rows[1] == result["cdrs"]
        else f"STORE MISMATCH: {rows[0]} rows, {rows[1]} distinct, {result['cdrs']} acknowledged"
    )
    print(
        f"{name:<9} {result['rate']:>9,.0f} CDRs/s  p50 {result['p50']:6.1f} ms  "
        f"p99 {result['p99']:6.1f} ms  ({result['cdrs']} CDRs in {result['seconds']:.2f} s, "
        f"{result['failures']} failed pushes; {once})"
    )
    print(
        f"{'':<9} server CPU {result['server_cpu']:.2f} ms a push, senders' "
        f"{result['sender_cpu']:.2f} ms; load average {result['load']:.1f} at the start"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=150, help="pushes per sender (toolkit)")
    parser.add_argument(
        "--baseline-pushes",
        type=int,
        default=10,
        help="pushes per sender (baseline; it is much slower)",
    )
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--synchronous", choices=("NORMAL", "FULL"), default="NORMAL")
    parser.add_argument(
        "--compare-with",
        metavar="DIR",
        help="also run the receiver of the toolkit in DIR (an older tree), first, in the same run",
    )
    parser.add_argument("--serve-baseline", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline)
        return 0
    # The receiver verifies every push, as in production. A throwaway app for this run: the
    # receiver and the senders (child processes) read it from the environment.
    os.environ["PRIVATENUMBER_APP_KEY"] = "bench-app"
    os.environ["PRIVATENUMBER_APP_SECRET"] = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="bench-receiver-") as tmp:
        flask_db = os.path.join(tmp, "flask.db")
        runs = [("toolkit", None)]
        if args.compare_with:
            runs.insert(0, ("old tree", args.compare_with))  # first: the same machine, warmed
        for name, tree in runs:
            db = os.path.join(tmp, f"{name.replace(' ', '-')}.db")
            command = [sys.executable, "-m", "toolkit", "receiver", "--port", "0", "--db", db]
            proc, url = start_server([*command, "--synchronous", args.synchronous], tree)
            try:
                result = run_load(url, name.replace(" ", "-"), args.pushes, args.senders, proc.pid)
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
            report(name, result, stored(db, "cdrs", "icid"))
        ours = result
        proc, url = start_server([sys.executable, __file__, "--serve-baseline", flask_db])
        try:
            base = run_load(url, "baseline", args.baseline_pushes, args.senders, proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        report("baseline", base, stored(flask_db, "cdrs", "icid"))
    # The target: 40,000 CDRs/s acknowledged with p99 <= 50 ms, about 25x the baseline.
    verdict = "meets" if ours["rate"] >= TARGET_RATE and ours["p99"] <= 50 else "MISSES"
    print(
        f"ratio     {ours['rate'] / base['rate']:.1f}x the baseline's throughput "
        f"({verdict} the target of >= {TARGET_RATE:,} CDRs/s with p99 <= 50 ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
