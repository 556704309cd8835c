"""``python -m toolkit receiver``: run a :class:`~toolkit.receiver.Receiver` until a signal.

The APP_Secrets come from the environment, a ``.env`` file in the working directory, or a file
(``--app-secret-file``); the base URL is the first line of standard output.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

from .cli_format import HelpFormatter
from .config import lookup
from .errors import ConfigError
from .receiver import MAX_BODY, Receiver
from .store import Store, StoreError

log = logging.getLogger("toolkit.receiver")


def _add_credential_options(parser: argparse.ArgumentParser, flag: str, env: str, app: str) -> None:
    parser.add_argument(
        f"--{flag}-key",
        metavar="KEY",
        help=f"APP_Key of the {app} app (default: env {env}_APP_KEY or .env)",
    )
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument(
        f"--{flag}-secret-file",
        metavar="PATH",
        help=f"file holding the {app} APP_Secret (default: env {env}_APP_SECRET or .env)",
    )
    secret.add_argument(
        f"--{flag}-secret",
        metavar="SECRET",
        help="the APP_Secret itself: other users can read it in the process list; avoid",
    )


def _credential(
    parser: argparse.ArgumentParser, args: argparse.Namespace, flag: str, env: str
) -> tuple[str | None, str | None]:
    """APP_Key and APP_Secret from the flags, a secret file, the environment or ``.env``."""
    name = flag.replace("-", "_")
    key = getattr(args, f"{name}_key") or lookup(f"{env}_APP_KEY")
    secret = getattr(args, f"{name}_secret")
    path = getattr(args, f"{name}_secret_file")
    if secret:
        print(
            f"warning: --{flag}-secret shows the secret to every user of this machine (ps, "
            f"/proc); use {env}_APP_SECRET, a .env file or --{flag}-secret-file instead",
            file=sys.stderr,
        )
    elif path:
        try:
            secret = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            parser.error(f"cannot read --{flag}-secret-file {path}: {exc.strerror or exc}")
        except UnicodeDecodeError:  # its message quotes a byte of the secret and where it is
            parser.error(f"--{flag}-secret-file {path} is not UTF-8 text")
        if not secret:
            parser.error(f"--{flag}-secret-file {path} is empty")
    else:
        secret = lookup(f"{env}_APP_SECRET")
    if bool(key) != bool(secret):
        parser.error(
            f"give both an APP_Key (--{flag}-key or {env}_APP_KEY) and an APP_Secret "
            f"({env}_APP_SECRET, .env or --{flag}-secret-file), or neither"
        )
    return key or None, secret or None


def main(argv: list[str] | None = None) -> int:
    """``python -m toolkit receiver``: run the receiver until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m toolkit receiver",
        description="Receive platform pushes (CDRs, call events, SMS, X-number status) into a "
        "SQLite store. Prints the base URL on the first line of standard output. Secrets are "
        "read from the environment, a .env file in the working directory, or a file.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    parser.add_argument(
        "--db",
        default="pushes.db",
        help="SQLite file (default pushes.db), or a postgresql://user:password@host/dbname URL "
        "that several receivers share (needs the postgres extra)",
    )
    _add_credential_options(parser, "app", "PRIVATENUMBER", "PrivateNumber")
    _add_credential_options(parser, "voice-app", "VOICECALL", "VoiceCall")
    parser.add_argument(
        "--public-url",
        action="append",
        metavar="URL",
        help="the push URL configured on the platform, which VoiceCall signatures cover "
        "(repeatable; default: the URL of each request)",
    )
    parser.add_argument(
        "--allow-unsigned", action="store_true", help="accept pushes that carry no signature"
    )
    parser.add_argument(
        "--strict-voicecall",
        action="store_true",
        help="refuse VoiceCall pushes that do not verify instead of keeping them apart",
    )
    parser.add_argument(
        "--synchronous",
        choices=("NORMAL", "FULL"),
        default="NORMAL",
        help="FULL also survives power loss (slower); NORMAL survives crashes",
    )
    parser.add_argument("--max-body", type=int, default=MAX_BODY, help="body size cap in bytes")
    parser.add_argument(
        "--request-timeout",
        type=_positive,
        default=10.0,
        metavar="SECONDS",
        help="total time a client gets to send one request, head and body (default 10)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=None,
        metavar="N",
        help="open connections at most; at the cap the slowest waiting client is dropped "
        "(default: what the descriptor limit leaves, at most 1000)",
    )
    parser.add_argument(
        "--tls-cert",
        metavar="PEM",
        help="serve HTTPS with this certificate (for when no TLS proxy stands in front)",
    )
    parser.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("give both --tls-cert and --tls-key, or neither")
    app_key, app_secret = _credential(parser, args, "app", "PRIVATENUMBER")
    voice_key, voice_secret = _credential(parser, args, "voice-app", "VOICECALL")
    if not app_secret and not voice_secret and not args.allow_unsigned:
        parser.error(
            "no secret to verify pushes with: set PRIVATENUMBER_APP_KEY and "
            "PRIVATENUMBER_APP_SECRET (environment, .env or --app-secret-file) and/or their "
            "VOICECALL_ counterparts, or pass --allow-unsigned to accept pushes unverified"
        )
    try:
        receiver = Receiver(
            args.db,
            app_key=app_key,
            app_secret=app_secret,
            voice_app_key=voice_key,
            voice_app_secret=voice_secret,
            allow_unsigned=args.allow_unsigned,
            public_url=args.public_url,
            host=args.host,
            port=args.port,
            lenient_voicecall=not args.strict_voicecall,
            max_body=args.max_body,
            synchronous=args.synchronous,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
        ).start(request_timeout=args.request_timeout, max_connections=args.max_connections)
    except (OSError, StoreError, ConfigError) as exc:
        print(f"cannot start the receiver: {exc}", file=sys.stderr)
        return 1
    stopping: list[int] = []

    def _on_signal(signum: int, frame: Any) -> None:
        # Only record the signal: taking a lock here (e.g. Event.set) can deadlock with the main
        # thread if the signal lands while it holds that same lock.
        stopping.append(signum)

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    print(receiver.url, flush=True)
    verified = [n for n, on in (("PrivateNumber", app_secret), ("VoiceCall", voice_secret)) if on]
    mode = (
        f"verifying {' and '.join(verified)} signatures"
        if verified
        else "accepting unsigned pushes"
    )
    log.info("receiving pushes at %s into %s, %s", receiver.url, receiver.store.path, mode)
    while not stopping:
        time.sleep(0.2)
    receiver.stop()
    log.info("stopped; the store holds %s", _summary(args.db))
    return 0


def _positive(text: str) -> float:
    """An argparse type: a finite number of seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def _summary(path: str) -> str:
    try:
        with Store(path, readonly=True) as store:
            counts = [f"{n} {t}" for t, n in store.counts().items()]
            quarantined = store.query("SELECT count(*) AS n FROM quarantine")[0]["n"]
            if quarantined:
                counts.append(f"{quarantined} pushes in quarantine")
            return ", ".join(counts)
    except StoreError:
        return "an unreadable store"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
