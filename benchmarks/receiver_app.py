"""The receiver's CPU per fee push without HTTP: where the time of one 50-CDR push goes.

Calls the receiver's WSGI app directly (no sockets, no threads) with the pushes of
``benchmarks/receiver.py`` (50 distinct CDRs each, signed with a fresh nonce, verified), one
push per commit, and prints the CPU time per push of the whole app and of its stages: decoding
the body, mapping it to rows (``Store.prepare``) and writing the rows (``Store.write``, 1 and 8
pushes per transaction). CPU time (``time.process_time``) is what a busy shared machine blurs
least; each figure is the best of ``--rounds`` rounds.

    python benchmarks/receiver_app.py [--pushes 300] [--rounds 5] [--compare-with DIR]

``--compare-with DIR`` measures the toolkit in DIR too (e.g. ``git archive main | tar -x -C
/tmp/old``), in a process of its own, and prints both side by side with the load average.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from receiver import fee_push


def _environ(body: bytes, headers: dict[str, str]) -> dict[str, object]:
    environ: dict[str, object] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/fee",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/json;charset=UTF-8",
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _best(rounds: list[float], pushes: int) -> float:
    return min(rounds) / pushes * 1000


def measure(pushes: int, rounds: int) -> dict[str, float]:
    """CPU ms per push of each stage, in this process's toolkit."""
    from toolkit.auth import sign_headers
    from toolkit.errors import PushFormatError
    from toolkit.receiver import Receiver
    from toolkit.store import Store

    decode = json.loads
    try:
        from toolkit import rawjson

        Store.prepare(rawjson.loads(fee_push("probe")))
        decode = rawjson.loads
    except (ImportError, PushFormatError):  # a tree from before bodies kept their texts
        pass
    key, secret = "bench-app", secrets.token_hex(16)
    figures: dict[str, list[float]] = {"app": [], "decode": [], "prepare": [], "write": []}
    figures["write8"] = []
    for r in range(rounds):
        bodies = [fee_push(f"app-{r}-{j}") for j in range(pushes)]
        with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
            rx = Receiver(os.path.join(tmp, "app.db"), app_key=key, app_secret=secret)
            try:
                environs = [_environ(b, sign_headers(key, secret)) for b in bodies]
                statuses: list[str] = []

                def start_response(status: str, headers: object, exc_info: object = None) -> None:
                    statuses.append(status)  # noqa: B023 (one round's list)

                cpu = time.process_time()
                for environ in environs:
                    rx.wsgi_app(environ, start_response)
                figures["app"].append(time.process_time() - cpu)
                if statuses != ["200 OK"] * pushes:
                    raise SystemExit(f"the app refused pushes: {sorted(set(statuses))}")
            finally:
                rx.stop()
        cpu = time.process_time()
        decoded = [decode(b) for b in bodies]
        figures["decode"].append(time.process_time() - cpu)
        cpu = time.process_time()
        batches = [Store.prepare(d, product="privatenumber", verified=True) for d in decoded]
        figures["prepare"].append(time.process_time() - cpu)
        for name, group in (("write", 1), ("write8", 8)):
            with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
                store = Store(os.path.join(tmp, "write.db"))
                try:
                    again = [Store.prepare(d, product="privatenumber") for d in decoded]
                    cpu = time.process_time()
                    for i in range(0, len(again), group):
                        store.write(again[i : i + group])
                    figures[name].append(time.process_time() - cpu)
                finally:
                    store.close()
        del batches
    return {name: _best(values, pushes) for name, values in figures.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=300, help="pushes per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--compare-with", metavar="DIR", help="an older tree to measure too")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.pushes, args.rounds)))
        return 0
    trees = [("this tree", str(Path(__file__).resolve().parent.parent))]
    if args.compare_with:
        trees.insert(0, ("old tree", args.compare_with))
    results = {}
    for name, tree in trees:
        env = {**os.environ, "PYTHONPATH": tree}
        command = [sys.executable, __file__, "--json", "--pushes", str(args.pushes)]
        command += ["--rounds", str(args.rounds)]
        out = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
        results[name] = json.loads(out.stdout)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"CPU ms per 50-CDR push, best of {args.rounds} rounds; load average {load:.1f}")
    labels = {
        "app": "whole app (verify, decode, rows, commit)",
        "decode": "decode the body",
        "prepare": "rows (Store.prepare)",
        "write": "Store.write, 1 push a transaction",
        "write8": "Store.write, 8 pushes a transaction",
    }
    print(f"{'':<42}" + "".join(f"{name:>12}" for name in results))
    for key, label in labels.items():
        print(f"{label:<42}" + "".join(f"{r[key]:>12.3f}" for r in results.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
