"""``python -m toolkit demo``: the whole loop on one machine, with no account.

It starts a push receiver and the platform emulator, binds a few AXB number pairs through the
client, simulates a day of calls, tails the CDRs as the emulator pushes them (signed, and
verified by the receiver), prints the outcomes with their decoded causes and writes a dashboard
chart. Every number shown is masked.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from .cli_format import HelpFormatter
from .client import PrivateNumberClient
from .emulator import Emulator
from .follower import Follower
from .numbers import mask
from .receiver import Receiver
from .store import Store
from .tail import format_cdr

PAIRS = 12
CHUNK = 50  # calls placed between progress updates
DELIVERY_TIMEOUT = 60.0


@dataclass(frozen=True)
class DemoResult:
    """What a demo run produced: how many calls and CDRs, and where the chart went."""

    calls: int
    cdrs: int
    chart: Path


def bind_pairs(client: PrivateNumberClient, pairs: int, seed: int) -> list[str]:
    """Bind ``pairs`` seeded A/B mobile pairs (AXB) and return their subscription ids."""
    rng = random.Random(seed)
    ids = []
    for _ in range(pairs):
        a, b = (f"+86138{rng.randrange(10**8):08d}", f"+86139{rng.randrange(10**8):08d}")
        ids.append(client.axb.bind(a, b, max_duration=30).subscription_id)
    return ids


def progress(done: int, total: int, width: int = 30) -> str:
    """A one-line text progress bar: ``[#######.......]  120/500 calls``."""
    filled = width * done // total if total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {done:>{len(str(total))}}/{total} calls"


class _Tail:
    """Prints the first ``limit`` CDRs as they are stored, then counts the rest."""

    def __init__(self, store: Store, out: TextIO, limit: int) -> None:
        self.out, self.limit = out, limit
        self.follower = Follower(store, 0, tables=("cdrs",), name="demo-tail")
        self.seen = 0

    def drain(self) -> None:
        self.follower.drain(self._show)

    def _show(self, table: str, row: dict[str, Any]) -> None:
        self.seen += 1
        if self.seen <= self.limit:
            print("  " + format_cdr(row), file=self.out)


def run(
    *,
    calls: int = 500,
    days: float = 1.0,
    seed: int = 7,
    chart: str | Path = "outcomes.png",
    db: str | None = None,
    tail: int = 10,
    out: TextIO = sys.stdout,
) -> DemoResult:
    """Run the demo and return what it produced; progress and tables go to ``out``."""
    import matplotlib

    matplotlib.use("Agg")  # the demo is a terminal program: never open a window
    import matplotlib.pyplot as plt
    import pandas as pd

    from .analysis import cause_pareto, outcome_mix
    from .charts import dashboard
    from .frame import cdr_frame

    emu = Emulator("axb", seed=seed, time_scale=0)
    # The receiver is given the emulator's keys and secrets (the VoiceCall app's too, should one
    # be made), and the emulator pushes CDRs to it: every push signed, and verified.
    with Receiver.for_emulator(emu, db=db, pushes=("fee",)) as rx:
        print(f"Receiver listening at {rx.url}, verifying signed pushes", file=out)
        client = emu.client()
        bind_pairs(client, PAIRS, seed)
        first = emu.bindings()[0]
        print(
            f"Bound {PAIRS} AXB pairs, e.g. {mask(first['callerNum'])} <-> "
            f"{mask(first['calleeNum'])} via {mask(first['relationNum'])}",
            file=out,
        )
        print(f"Simulating {calls} calls over {days:g} day(s); the first CDRs:", file=out)
        watcher = _Tail(rx.store, out, tail)
        for start in range(0, calls, CHUNK):
            emu.simulate(min(CHUNK, calls - start), seed=seed + start, days=days)
            watcher.drain()
        live = out.isatty()  # redraw one line in a terminal; a log gets only the final line
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        while rx.store.count("cdrs") < calls and time.monotonic() < deadline:
            rx.store.wait(0.2)
            watcher.drain()
            if live:
                print(progress(rx.store.count("cdrs"), calls), end="\r", file=out, flush=True)
        watcher.drain()
        stored = rx.store.count("cdrs")
        print(progress(stored, calls) + " stored", file=out)
        if watcher.seen > tail:
            print(f"  ... and {watcher.seen - tail} more CDRs", file=out)

        frame = cdr_frame(rx.store, tz="Asia/Shanghai")
        mix = outcome_mix(frame).iloc[0]
        table = pd.DataFrame({"calls": mix, "share": (mix / max(1, stored)).map("{:.0%}".format)})
        print("\nOutcomes:", file=out)
        print(table.to_string(), file=out)
        print("\nMost common causes:", file=out)
        print(cause_pareto(frame).head(8).to_string(), file=out)
        fig = dashboard(frame, title=f"{stored:,} simulated calls over {days:g} day(s)")
        path = Path(chart)
        fig.savefig(path, dpi=80)
        plt.close(fig)
        print(f"\nWrote {path}", file=out)
    emu.stop()  # its delivery worker; the receiver stopped with the block
    return DemoResult(calls, stored, path)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point of ``python -m toolkit demo``."""
    parser = argparse.ArgumentParser(
        prog="python -m toolkit demo",
        description="The whole loop on one machine, with no account: start the platform "
        "emulator and a push receiver, bind AXB number pairs, simulate calls, tail the CDRs as "
        "they arrive (signed by the emulator, verified by the receiver), print the outcomes "
        "with their decoded causes and write a dashboard chart. Every number shown is masked.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--calls", type=int, default=500, help="calls to simulate (default 500)")
    parser.add_argument("--days", type=float, default=1.0, help="spread calls over N days")
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated traffic")
    parser.add_argument("--out", default="outcomes.png", help="chart file (default outcomes.png)")
    parser.add_argument(
        "--db", help="keep the CDR store in this SQLite file (default: a temporary store)"
    )
    parser.add_argument("--tail", type=int, default=10, help="CDR lines to show (default 10)")
    args = parser.parse_args(argv)
    if not 1 <= args.calls <= 100_000:
        parser.error("--calls must be between 1 and 100000")
    if not 0 < args.days <= 31:
        parser.error("--days must be more than 0 and at most 31")
    result = run(
        calls=args.calls, days=args.days, seed=args.seed, chart=args.out, db=args.db, tail=args.tail
    )
    return 0 if result.cdrs == result.calls else 1
