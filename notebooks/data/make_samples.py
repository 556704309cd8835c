"""Write the sample exports of notebooks/07_your_own_data.ipynb (run once; the output is committed).

    python notebooks/data/make_samples.py

The emulator simulates a week of AXB calls and pushes their CDRs, signed, to a receiver; the CDRs
as pushed (the FeeInfo JSON the store keeps) are then written two ways an analyst may receive
them: a CSV export with the platform's camelCase fields, and JSON lines of push bodies. Every
number is the emulator's: none of them belongs to anyone.
"""

from __future__ import annotations

import csv
import json
import secrets
import sqlite3
from pathlib import Path

from toolkit.emulator import Emulator
from toolkit.receiver import Receiver

HERE = Path(__file__).resolve().parent


def main() -> None:
    key, secret = f"sample{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    with Receiver(app_key=key, app_secret=secret) as rx:
        emu = Emulator(
            "axb", app_key=key, app_secret=secret, seed=11, time_scale=0, fee_url=f"{rx.url}/fee"
        )
        client = emu.client()
        for i in range(6):
            client.axb.bind(f"+86138{i:08d}", f"+86139{i:08d}", max_duration=30)
        emu.simulate(400, seed=11, days=7)
        while rx.store.count("cdrs") < 400:
            rx.store.wait(0.5)
        with sqlite3.connect(rx.store.path) as conn:
            infos = [json.loads(raw) for (raw,) in conn.execute("SELECT raw FROM cdrs ORDER BY seq")]
        conn.close()
    infos = [{**info, "appKey": "SampleAppKey0001"} for info in infos]  # not the random key
    first, second = infos[:250], infos[250:]
    names = list(dict.fromkeys(k for info in first for k in info))
    with open(HERE / "cdr_export.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, names)
        writer.writeheader()
        writer.writerows(first)
    with open(HERE / "pushes.jsonl", "w", encoding="utf-8") as out:
        for start in range(0, len(second), 10):  # the platform merges CDRs into one push
            body = {"eventType": "fee", "feeLst": second[start : start + 10]}
            out.write(json.dumps(body, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
