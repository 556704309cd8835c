"""Decode and classify 1,000,000 CDRs: vectorised versus a naive ``apply(lambda ...)``.

Usage: ``python benchmarks/decode.py [--rows N] [--seed S]``

The rows use the store's column names and a code mix shaped like a busy ride-hailing account
(mostly answered, then busy / no answer / caller abandoned, a tail of binding, throttling and
platform failures). Prints one figure per line. Target (issue 5): vectorised <= 0.5 s and >= 20x
the naive path.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from toolkit.codes import classify, classify_frame, decode, decode_series

# (share, ulFailReason, fwdUnaswRsn, sipStatusCode, answered, bound); None = NULL in the store
SCENARIOS = [
    (0.520, 0, 0, 0, True, True),  # answered, ended normally
    (0.030, 8010, 0, 0, True, True),  # answered, cut at maxDuration
    (0.110, 8102, 17, 486, False, True),  # callee busy
    (0.070, 8101, 19, 480, False, True),  # rang, no answer
    (0.030, 8035, 18, 408, False, True),  # platform connect timeout
    (0.050, 7502, 0, 487, False, True),  # caller hung up while ringing
    (0.020, 7501, 0, 487, False, True),  # caller hung up before ringing
    (0.030, 7503, 21, 603, False, True),  # callee rejected
    (0.025, 8104, 20, 480, False, True),  # callee powered off
    (0.010, 8105, 20, 480, False, True),  # callee suspended
    (0.010, 8100, 1, 404, False, True),  # callee number does not exist
    (0.020, 8014, None, None, False, False),  # no binding (empty subscriptionId)
    (0.010, 8013, None, None, False, True),  # AX without a temporary callee
    (0.015, 7001, None, None, False, True),  # developer rate control
    (0.010, 8047, None, None, False, True),  # caller frequency control
    (0.005, 8011, 41, 500, False, True),  # platform internal error
    (0.005, 7506, 38, 503, False, True),  # callee-side network error
    (0.030, None, None, None, False, True),  # CDR without codes (older pushes)
]


def make_cdrs(rows: int, seed: int) -> pd.DataFrame:
    """``rows`` seeded CDR rows with the store's column names and dtypes (NULL -> NaN)."""
    rng = np.random.default_rng(seed)
    shares = np.array([s[0] for s in SCENARIOS])
    pick = rng.choice(len(SCENARIOS), size=rows, p=shares / shares.sum())

    def column(index: int) -> np.ndarray:
        values = np.array([np.nan if s[index] is None else s[index] for s in SCENARIOS])
        return values[pick]

    answered = np.array([s[4] for s in SCENARIOS])[pick]
    bound = np.array([s[5] for s in SCENARIOS])[pick]
    # about 5% VoiceCall click-to-call CDRs, drawn from the codes both products share
    ul = column(1)
    voice = (rng.random(rows) < 0.05) & np.isin(ul, [0, 8010, 8100, 8101, 8102, 8104, 7001])
    start = 1_709_251_200 + rng.integers(0, 86_400 * 30, size=rows)
    return pd.DataFrame(
        {
            "seq": np.arange(1, rows + 1),
            "product": np.where(voice, "voicecall", "privatenumber"),
            "subscription_id": np.where(bound, "8f1c2d3e-0000-4a4a-9b9b-123456789abc", ""),
            "call_in_time": start,
            "fwd_answer_time": np.where(answered, start + rng.integers(3, 30, rows), np.nan),
            "ul_fail_reason": ul,
            "fwd_unasw_rsn": column(2),
            "sip_status_code": column(3),
        }
    )


def vectorised(df: pd.DataFrame) -> pd.Series:
    """The fast path: decode the release point and classify every row."""
    decode_series(df["ul_fail_reason"], "pn_release")
    return classify_frame(df)


def naive(df: pd.DataFrame) -> pd.Series:
    """What one writes without the vectorised API: Python per row."""
    df["ul_fail_reason"].apply(lambda code: decode(code, "pn_release"))
    return df.apply(lambda row: classify(row.to_dict()), axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20240301)
    args = parser.parse_args()

    df = make_cdrs(args.rows, args.seed)
    vectorised(df.head(1000))  # load the tables once, outside the timing

    began = time.perf_counter()
    fast = vectorised(df)
    fast_seconds = time.perf_counter() - began
    print(f"vectorised decode+classify, {args.rows:,} CDRs: {fast_seconds:.3f} s")

    began = time.perf_counter()
    slow = naive(df)
    slow_seconds = time.perf_counter() - began
    print(f"naive apply(lambda), {args.rows:,} CDRs: {slow_seconds:.3f} s")
    print(f"speed-up: {slow_seconds / fast_seconds:.1f}x")

    agree = (fast.astype(str).to_numpy() == slow.astype(str).to_numpy()).mean()
    print(f"rows where both paths agree: {agree:.2%}")
    shares = fast.value_counts(normalize=True).reindex(fast.cat.categories)
    print("outcome mix: " + ", ".join(f"{k} {v:.1%}" for k, v in shares.items()))


if __name__ == "__main__":
    main()
