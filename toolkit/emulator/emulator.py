"""The notebook-facing :class:`Emulator`: one object holding the backend, the delivery worker,
the WSGI app built from those two, and (once started) the HTTP server, with clients wired to it."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable
from typing import Any

import requests

from ..config import Settings, check_auth_scheme
from ..errors import ConfigError
from ..tls import CertificateFiles, check_ca_file, make_local_certificate, server_context
from .adapter import WSGIAdapter
from .app import EmulatorApp
from .backend import Backend, Clock
from .delivery import Deliverer
from .errors import EmulatorError
from .history import DEFAULT_MAX_CALLS
from .model import App
from .params import Params
from .server import WSGIServer

IN_PROCESS_URL = "http://emulator.invalid"
# Pushed items whose attempts deliveries() keeps: an event, SMS or status change is one item, a
# CDR batch one per CDR (each attempt keeps its body). A call pushes one CDR and up to seven
# events, so this covers the last few thousand calls: enough to inspect, bounded in memory.
DEFAULT_MAX_DELIVERIES = 20_000
# Up to a minute: enough to rehearse a platform that hangs past any sensible timeout; more is
# surely milliseconds given as seconds.
MAX_LATENCY = 60.0
# The push URLs an app has: call events, CDRs, SMS and X-number status (App.<kind>_url).
PUSH_KINDS = ("status", "fee", "sms", "numstatus")


class Emulator:
    """A local stand-in for Huawei's PrivateNumber and VoiceCall platform.

    Without :meth:`start` it answers in-process (clients from :meth:`client` use a requests
    adapter that calls the WSGI app directly); after :meth:`start` it also listens on
    ``host:port`` (port 0 = a free port) and :attr:`url` is its HTTP address. Like the platform,
    it closes the connection after each API answer (``Connection: close``); ``keep_alive=True``
    keeps connections open instead, for benchmarks. Pushes (call events,
    CDRs, SMS, number status) go to the URLs given here, signed with the app's key and secret.

    ``numbers`` is the default app's pool of privacy numbers: a count (10 by default; generated
    from the seed, in the virtual-operator 170 range, or Shenzhen fixed lines for ``"voice"``) or
    the numbers themselves, as strings in any spelling the client accepts
    (``numbers=["+8617000000001", "170 0000 0002"]``). :attr:`numbers` lists the pool in full:
    these are the emulator's own fake numbers, made to be copied into examples.

    ``time_scale`` is real seconds per simulated second: calls last ``talk * time_scale`` and the
    retries after 1, 4, 9, 106, 203 and 300 minutes are compressed alike (0 = all at once).
    ``seed`` makes numbers, ids and traffic reproducible; ``clock`` (epoch seconds) drives binding
    expiry and the times written in events and CDRs. ``voice_app_key``/``voice_app_secret`` are
    the credentials of the VoiceCall app :attr:`voice_app` creates (random unless given), so a
    receiver can be given them to verify VoiceCall pushes.

    Memory stays bounded however long it runs: the newest ``max_calls`` finished calls are
    remembered (:meth:`calls`, :meth:`cdr`, recordings; live calls always) and the newest push
    attempts that carry ``max_deliveries`` items in all (:meth:`deliveries`; a batch of 50 CDRs
    counts 50); older ones are dropped first.

    HTTPS: with ``tls=True``, :meth:`start` makes a certificate authority and a certificate it
    signs for ``127.0.0.1`` and ``localhost`` (needs ``cryptography``: ``pip install -e
    ".[tls]"``), serves ``https://`` and :attr:`ca_cert` is the PEM file clients trust
    (``REQUESTS_CA_BUNDLE``, ``curl --cacert``, a Java truststore); :meth:`client` trusts it
    already. ``tls_cert``/``tls_key`` serve a pair of your own instead; ``ca_cert`` then names the
    CA that signed it, by default ``tls_cert`` itself (right for a self-signed certificate).
    ``push_ca_cert`` is the CA file pushes to ``https://`` URLs verify the receiver against
    (default: the system's CAs, or ``REQUESTS_CA_BUNDLE``).
    ``auth_scheme`` is how the default app signs its pushes: ``aksk`` (X-AKSK) or ``wsse``
    (X-WSSE, the legacy generation).

    ``latency`` (seconds, default 0; also settable later as :attr:`latency`) delays every API
    answer, as the real platform's answers take a round trip across a WAN and the platform's own
    time (tens of milliseconds): half before the request is acted on, half after. Use it to
    measure what a thread pool (``bind_many``) gains against a remote platform, or to rehearse
    timeouts and deadlines. Each delayed answer holds one of the server's 16 worker threads.
    """

    def __init__(
        self,
        mode: str = "axb",
        *,
        app_key: str | None = None,
        app_secret: str | None = None,
        time_scale: float = 0.01,
        seed: int | None = None,
        status_url: str | None = None,
        fee_url: str | None = None,
        sms_url: str | None = None,
        numstatus_url: str | None = None,
        numbers: int | Iterable[str] = 10,
        extension_length: int = 4,
        host: str = "127.0.0.1",
        port: int = 0,
        push_timeout: float = 5.0,
        clock: Clock = time.time,
        voice_app_key: str | None = None,
        voice_app_secret: str | None = None,
        max_calls: int = DEFAULT_MAX_CALLS,
        max_deliveries: int = DEFAULT_MAX_DELIVERIES,
        auth_scheme: str = "aksk",
        tls: bool = False,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        ca_cert: str | None = None,
        push_ca_cert: str | None = None,
        keep_alive: bool = False,
        latency: float = 0.0,
    ) -> None:
        if (tls_cert is None) != (tls_key is None):
            raise EmulatorError("give both tls_cert and tls_key, or neither")
        try:
            if push_ca_cert is not None:
                push_ca_cert = check_ca_file(push_ca_cert, "push_ca_cert")
            if ca_cert is not None:
                ca_cert = check_ca_file(ca_cert, "ca_cert")
        except ConfigError as exc:
            raise EmulatorError(str(exc)) from None
        self.tls = tls or tls_cert is not None
        self._tls_pair = (tls_cert, tls_key)
        # A pair of your own is most often self-signed: its certificate is then its own CA.
        self._given_ca_cert = ca_cert or tls_cert
        self._certificates: CertificateFiles | None = None
        if not isinstance(max_deliveries, int) or isinstance(max_deliveries, bool):
            raise EmulatorError("max_deliveries must be an integer >= 1")
        if max_deliveries < 1:
            raise EmulatorError("max_deliveries must be an integer >= 1")
        self.backend = Backend(clock=clock, seed=seed, max_calls=max_calls)
        self.deliverer = Deliverer(
            time_scale=time_scale,
            timeout=push_timeout,
            log_size=max_deliveries,
            on_call_end=self.backend.calls.finished,
            ca_cert=push_ca_cert,
        )
        self.backend.pushes = self.deliverer
        self.default_app = self.backend.add_app(
            mode,
            app_key=app_key,
            app_secret=app_secret,
            numbers=numbers,
            extension_length=extension_length,
            status_url=status_url,
            fee_url=fee_url,
            sms_url=sms_url,
            numstatus_url=numstatus_url,
            auth_scheme=auth_scheme,
        )
        self.wsgi_app = EmulatorApp(self.backend, self.deliverer)
        self.latency = latency
        self.host, self.port, self.keep_alive = host, port, keep_alive
        self._server: WSGIServer | None = None
        self._voice_app: App | None = None
        self._voice_credentials = {"app_key": voice_app_key, "app_secret": voice_app_secret}
        self._receivers: list[tuple[Any, tuple[str, ...]]] = []

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Listen on HTTP, or HTTPS with ``tls`` (``host``, ``port``; 0 picks a free port).
        Returns ``self``. A certificate or key that cannot be loaded raises
        :class:`~toolkit.errors.EmulatorError` naming the file."""
        if self._server is None:
            self._server = WSGIServer(
                self.wsgi_app,
                self.host,
                self.port,
                ssl_context=self._ssl_context(),
                keep_alive=self.keep_alive,
            ).start()
        return self

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        cert, key = self._tls_pair
        try:
            if cert is None or key is None:
                if self._certificates is None:
                    self._certificates = make_local_certificate()
                cert, key = self._certificates.cert, self._certificates.key
            return server_context(cert, key)
        except ConfigError as exc:
            raise EmulatorError(str(exc)) from None

    def stop(self) -> None:
        """Stop the HTTP server (if started) and the delivery worker; delete a certificate made
        by :meth:`start`."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.deliverer.stop()
        if self._certificates is not None:
            self._certificates.remove()
            self._certificates = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def started(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        """The HTTP base URL once started; before that, the in-process address clients use."""
        return self._server.url if self._server is not None else IN_PROCESS_URL

    @property
    def ca_cert(self) -> str | None:
        """The PEM file an HTTPS client trusts: the CA :meth:`start` made (while it runs), else
        the ``ca_cert`` given with your own pair (default: its certificate); None over HTTP."""
        if self._certificates is not None:
            return self._certificates.ca_cert
        return self._given_ca_cert if self.tls else None

    @property
    def latency(self) -> float:
        """Seconds every API answer is delayed by (see the class docstring); 0 = none."""
        return self.wsgi_app.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not 0 <= seconds <= MAX_LATENCY
        ):
            raise EmulatorError(f"latency must be a number of seconds from 0 to {MAX_LATENCY:g}")
        self.wsgi_app.latency = float(seconds)

    @property
    def app_key(self) -> str:
        return self.default_app.app_key

    @property
    def app_secret(self) -> str:
        return self.default_app.app_secret

    @property
    def mode(self) -> str:
        return self.default_app.mode

    @property
    def numbers(self) -> list[str]:
        """The default app's privacy numbers (X; VoiceCall display numbers for ``"voice"``), in
        full and in pool order. They are the emulator's own, so nothing here is masked."""
        return list(self.default_app.numbers)

    def __repr__(self) -> str:  # never the secret
        where = self.url if self.started else "in-process"
        return f"Emulator(mode={self.mode!r}, app_key={self.app_key!r}, url={where!r})"

    # ---- clients -----------------------------------------------------------------------------

    def session(self) -> requests.Session:
        """A requests session that reaches this emulator in-process (and over HTTP once started)."""
        session = requests.Session()
        session.mount(IN_PROCESS_URL, WSGIAdapter(self.wsgi_app))
        return session

    def _app(self, app: App | str | None) -> App:
        if app is None:
            return self.default_app
        key = app if isinstance(app, str) else app.app_key
        if key not in self.backend.apps:
            raise EmulatorError(f"no app with key {key!r} in this emulator")
        return self.backend.apps[key]

    def settings(self, app: App | str | None = None, *, auth_scheme: str | None = None) -> Settings:
        """The :class:`~toolkit.config.Settings` a client needs for ``app`` (default: the first
        app): this emulator's URL, the app's key and secret, as for a real account, and over
        HTTPS the CA to verify it with. ``auth_scheme`` defaults to the app's own."""
        chosen = self._app(app)
        scheme = check_auth_scheme(chosen.auth_scheme if auth_scheme is None else auth_scheme)
        return Settings(self.url, chosen.app_key, chosen.app_secret, scheme, ca_cert=self.ca_cert)

    def client(self, app: App | str | None = None, *, auth_scheme: str | None = None) -> Any:
        """A :class:`toolkit.client.PrivateNumberClient` for ``app`` (default: the first app)."""
        from ..client import PrivateNumberClient

        return PrivateNumberClient(
            self.settings(app, auth_scheme=auth_scheme), session=self.session()
        )

    def voice_client(self, app: App | str | None = None, *, auth_scheme: str | None = None) -> Any:
        """A :class:`toolkit.voice.VoiceClient`; a VoiceCall app is created on first use."""
        from ..voice import VoiceClient

        chosen = self.voice_app if app is None else app
        return VoiceClient(self.settings(chosen, auth_scheme=auth_scheme), session=self.session())

    def add_app(self, mode: str, **options: Any) -> App:
        """Another app (own mode, key, secret, numbers, push URLs), e.g. to show every mode.

        After :meth:`push_to`, its push URLs not given here go to that receiver too."""
        app = self.backend.add_app(mode, **options)
        for receiver, pushes in self._receivers:
            self._wire(app, receiver, [k for k in pushes if options.get(f"{k}_url") is None])
        return app

    def push_to(
        self, receiver: Any, *, pushes: Iterable[str] = ("status", "fee", "sms", "numstatus")
    ) -> None:
        """Send every app's pushes of the kinds ``pushes`` to a started ``receiver``
        (:class:`~toolkit.receiver.Receiver`), and give it each app's key and secret so that it
        verifies them; apps added later are wired alike.
        :meth:`Receiver.for_emulator <toolkit.receiver.Receiver.for_emulator>` does this in one
        call."""
        kinds = tuple(pushes)
        unknown = set(kinds) - set(PUSH_KINDS)
        if unknown:
            raise EmulatorError(f"pushes may name {', '.join(PUSH_KINDS)}, not {sorted(unknown)}")
        if not getattr(receiver, "url", None):
            raise EmulatorError("start the receiver first: its URL is where pushes go")
        self._receivers.append((receiver, kinds))
        for app in list(self.backend.apps.values()):
            self._wire(app, receiver, kinds)

    @staticmethod
    def _wire(app: App, receiver: Any, kinds: Iterable[str]) -> None:
        for kind in kinds:
            setattr(app, f"{kind}_url", f"{receiver.url}/{kind}")
        product = "voicecall" if app.mode == "voice" else "privatenumber"
        receiver.trust(app.app_key, app.app_secret, product)

    def rate_limit(
        self, rate: float | None, *, burst: int | None = None, app: App | str | None = None
    ) -> None:
        """Flow control for ``app`` (default: the first app): ``rate`` API requests per second,
        ``burst`` at once; over it, the platform's ``1010010`` refusal. ``None`` turns it off."""
        self.backend.set_rate_limit(self._app(app).app_key, rate, burst)

    @property
    def voice_app(self) -> App:
        """The VoiceCall app :meth:`voice_client` uses by default: the default app in voice
        mode, else one created on first use with the default app's push URLs."""
        if self._voice_app is None:
            d = self.default_app
            self._voice_app = (
                d
                if d.mode == "voice"
                else self.add_app(
                    "voice",
                    status_url=d.status_url,
                    fee_url=d.fee_url,
                    **self._voice_credentials,
                )
            )
        return self._voice_app

    # ---- traffic -----------------------------------------------------------------------------

    def place_call(
        self,
        caller: str,
        called: str,
        extension: str | None = None,
        outcome: str | None = None,
        talk_seconds: int | None = None,
    ) -> dict[str, Any]:
        """``caller`` dials privacy number ``called`` (AXE: then keys ``extension``).

        ``outcome`` scripts the result (answered, busy, no-answer, powered-off, rejected,
        caller-abandon, throttled, error); by default it is drawn from the seeded mix. Returns
        the ``sessionId`` and the release code (``stateCode``/``ulFailReason``) the call carries.
        """
        return self.backend.place_call(caller, called, extension, outcome, talk_seconds).receipt()

    def simulate(
        self, n: int, seed: int | None = None, *, days: float = 0.0
    ) -> list[dict[str, Any]]:
        """Place ``n`` realistic calls over the current bindings of every app.

        With ``days`` the calls are spread over that many days before now (busier by day than
        by night), e.g. ``simulate(5000, seed=1, days=7)`` for a week of traffic to chart.
        """
        calls = self.backend.simulate(n, seed=seed, span=days * 86_400)
        return [c.receipt() for c in calls]

    def script(self, *outcomes: str) -> None:
        """Fix the outcomes of the next calls that do not name one (VoiceCall calls too)."""
        self.backend.script(*outcomes)

    def send_sms(self, sender: str, to: str, text: str) -> dict[str, Any]:
        """``sender`` texts privacy number ``to``; forwarded per the mode's rules, pushes sent."""
        return self.backend.send_sms(sender, to, text)

    def set_number_status(
        self, number: str, status: str, cause: str | None = None
    ) -> dict[str, Any]:
        """Change an X number's status (5 normal, 9 suspended, 10 unavailable, 11 frozen)."""
        return self.backend.set_number_status(number, status, cause)

    def stop_call(self, session_id: str) -> None:
        """End a live call, as the stop-call API does."""
        call = self.backend.calls.get(session_id)
        key = call.app_key if call else self.app_key
        self.backend.stop_call(key, Params({"sessionId": session_id, "signal": "call_stop"}))

    # ---- inspection --------------------------------------------------------------------------

    def wait_idle(self, timeout: float = 10.0, *, retries: bool = False) -> bool:
        """Wait until calls have played and pushes were attempted (``retries``: retried too)."""
        return self.deliverer.wait_idle(timeout, retries=retries)

    flush = wait_idle

    def bindings(self, app: App | str | None = None) -> list[dict[str, Any]]:
        """Live bindings (all apps unless one is named)."""
        return self.backend.bindings(None if app is None else self._app(app).app_key)

    def calls(self) -> list[dict[str, Any]]:
        """The calls remembered, oldest first: every live call and the newest ``max_calls``
        finished ones (session id, outcome, release code, parties, start time)."""
        return self.backend.call_summaries()

    def cdr(self, session_id: str) -> dict[str, Any]:
        """The CDR (FeeInfo) of one remembered call, as it is (or will be) pushed."""
        return dict(self.backend.call(session_id).cdr)

    def events(self, session_id: str) -> list[dict[str, Any]]:
        """The call events of one remembered call, as pushed: ``{"eventType":...,
        "statusInfo":...}``."""
        call = self.backend.call(session_id)
        return [{"eventType": s.event, "statusInfo": dict(s.info)} for s in call.steps]

    def deliveries(
        self, kind: str | None = None, *, with_body: bool = False
    ) -> list[dict[str, Any]]:
        """The newest push attempts (``max_deliveries`` items in all), oldest first: kind, url,
        attempt number, HTTP status, ok, session ids."""
        return self.deliverer.attempts(kind=kind, with_body=with_body)

    def reset(self) -> None:
        """Forget bindings, calls and recordings (apps and credentials stay)."""
        self.backend.reset()


def every_mode(
    emulator: Emulator, modes: Iterable[str] = ("axb", "ax", "axe", "axyb")
) -> dict[str, App]:
    """One app per mode (reusing the default app for its own mode), for notebooks that tour them."""
    apps = {emulator.mode: emulator.default_app}
    for mode in modes:
        if mode not in apps:
            apps[mode] = emulator.add_app(
                mode,
                status_url=emulator.default_app.status_url,
                fee_url=emulator.default_app.fee_url,
            )
    return apps
