"""``python -m toolkit emulator``: run the emulator over HTTP or HTTPS until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from ..cli_format import HelpFormatter
from ..errors import EmulatorError
from .emulator import DEFAULT_MAX_DELIVERIES, MAX_LATENCY, Emulator
from .history import DEFAULT_MAX_CALLS


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m toolkit emulator",
        description="Run the PrivateNumber/VoiceCall platform emulator over HTTP until Ctrl+C "
        "or SIGTERM. The first lines of standard output are its URL, APP_KEY= and APP_SECRET=; "
        "its pool of privacy numbers follows, in full (they are the emulator's own).",
        formatter_class=HelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: a free port)")
    p.add_argument(
        "--mode",
        default="axb",
        choices=("axb", "ax", "axe", "axyb", "x", "voice"),
        help="mode of the app the emulator starts with",
    )
    p.add_argument("--app-key", help="APP_Key (default: random)")
    p.add_argument("--app-secret", help="APP_Secret (default: random)")
    p.add_argument("--status-url", help="where call events are pushed (default: not pushed)")
    p.add_argument("--fee-url", help="where CDRs are pushed (default: not pushed)")
    p.add_argument("--sms-url", help="where SMS events are pushed (default: not pushed)")
    p.add_argument(
        "--numstatus-url",
        help="where X-number status changes are pushed (default: to --status-url)",
    )
    p.add_argument(
        "--auth-scheme",
        choices=("aksk", "wsse"),
        default="aksk",
        help="how the app signs its pushes: aksk (X-AKSK, current) or wsse (X-WSSE, legacy)",
    )
    tls = p.add_argument_group("HTTPS")
    tls.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS with a certificate made at start for 127.0.0.1 and localhost; line 4 "
        "of the output is CA_CERT=<the PEM file clients trust> (needs: pip install -e '.[tls]')",
    )
    tls.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate")
    tls.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert")
    tls.add_argument(
        "--ca-cert",
        metavar="PEM",
        help="with --tls-cert: the CA that signed it, printed as CA_CERT= for clients "
        "(default: the --tls-cert file, right for a self-signed certificate)",
    )
    tls.add_argument(
        "--push-ca-cert",
        metavar="PEM",
        help="CA file that https:// push URLs are verified against (default: the system's "
        "CAs, or REQUESTS_CA_BUNDLE)",
    )
    p.add_argument(
        "--time-scale",
        type=float,
        default=0.01,
        help="real seconds per simulated second (retries, call lengths); default 0.01",
    )
    p.add_argument(
        "--seed", type=int, help="seed for generated numbers and traffic (default: random)"
    )
    p.add_argument(
        "--rate-limit",
        type=float,
        help="flow control: API requests per second the app may make (default: no limit); "
        "over it the platform's 1010010 refusal is answered",
    )
    p.add_argument(
        "--max-calls",
        type=int,
        default=DEFAULT_MAX_CALLS,
        help="finished calls remembered for /_emulator/calls, oldest dropped first "
        f"(live calls are always kept); default {DEFAULT_MAX_CALLS}",
    )
    p.add_argument(
        "--max-deliveries",
        type=int,
        default=DEFAULT_MAX_DELIVERIES,
        help="pushed items (events; CDRs, one per CDR of a batch) whose attempts are remembered "
        f"for /_emulator/deliveries, oldest dropped first; default {DEFAULT_MAX_DELIVERIES}",
    )
    p.add_argument(
        "--latency",
        type=latency,
        default=0.0,
        metavar="TIME",
        help="hold every API answer this long, as a platform across a WAN (e.g. 20ms or 0.5s; "
        "a bare number is milliseconds); default 0",
    )
    p.add_argument(
        "--keep-alive",
        action="store_true",
        help="keep connections open between requests (for benchmarks); by default each answer "
        "closes its connection, as the platform's short connections do",
    )
    return p


def latency(text: str) -> float:
    """``--latency``: ``20ms``, ``0.5s`` or ``20`` (milliseconds) as seconds, 0-60 s."""
    value = text.strip().lower()
    scale = 0.001
    if value.endswith("ms"):
        value = value[:-2]
    elif value.endswith("s"):
        value, scale = value[:-1], 1.0
    try:
        seconds = float(value) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a time such as 20ms or 0.5s, not {text!r}"
        ) from None
    if not 0 <= seconds <= MAX_LATENCY:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be from 0 to {MAX_LATENCY:g} s, not {text!r}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    """Start the emulator and serve until SIGINT/SIGTERM.

    The first three lines on stdout are the base URL, ``APP_KEY=<key>`` and ``APP_SECRET=<secret>``
    (scripts parse them); over HTTPS the fourth is ``CA_CERT=<path>``, the PEM file a client
    trusts. What follows is informational, among it the line ``mode=<mode> numbers: <X> <X> ...``
    with the pool of privacy numbers in full.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("give both --tls-cert and --tls-key, or neither")
    if args.ca_cert and not args.tls_cert:
        parser.error("--ca-cert goes with --tls-cert (with --tls the CA is made at start)")
    if args.time_scale < 0:
        print("--time-scale must be >= 0", file=sys.stderr)
        return 2
    if args.rate_limit is not None and not 0 < args.rate_limit <= 1_000_000:
        print("--rate-limit must be more than 0 and at most 1000000 per second", file=sys.stderr)
        return 2
    for name in ("max_calls", "max_deliveries"):
        if getattr(args, name) < 1:
            print(f"--{name.replace('_', '-')} must be >= 1", file=sys.stderr)
            return 2
    try:
        emulator = Emulator(
            args.mode,
            app_key=args.app_key,
            app_secret=args.app_secret,
            time_scale=args.time_scale,
            seed=args.seed,
            status_url=args.status_url,
            fee_url=args.fee_url,
            sms_url=args.sms_url,
            numstatus_url=args.numstatus_url,
            host=args.host,
            port=args.port,
            max_calls=args.max_calls,
            max_deliveries=args.max_deliveries,
            auth_scheme=args.auth_scheme,
            tls=args.tls,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            ca_cert=args.ca_cert,
            push_ca_cert=args.push_ca_cert,
            keep_alive=args.keep_alive,
            latency=args.latency,
        )
    except EmulatorError as exc:
        print(f"cannot start the emulator: {exc}", file=sys.stderr)
        return 2
    if args.rate_limit is not None:
        emulator.rate_limit(args.rate_limit)
    stop = threading.Event()

    def _signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, _signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            emulator.start()
        except (EmulatorError, OSError) as exc:
            print(f"cannot start the emulator: {exc}", file=sys.stderr)
            return 1
        print(emulator.url)
        print(f"APP_KEY={emulator.app_key}")
        print(f"APP_SECRET={emulator.app_secret}")
        if emulator.tls:
            print(f"CA_CERT={emulator.ca_cert}")
        sys.stdout.flush()
        # The pool in full: the emulator's own fake numbers, printed so they can be copied.
        print(f"mode={args.mode} numbers: {' '.join(emulator.numbers)}")
        print(f"control: {emulator.url}/_emulator/health  (Ctrl+C to stop)", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
    print("emulator stopped", flush=True)
    return 0
