"""One time limit for a whole HTTP call: connecting, sending, waiting for and reading the answer.

A socket timeout bounds each read, not the call: a server that sends one byte just before every
timeout keeps a request alive for ever. So every call the transport makes gets a
:class:`Deadline`, and one watchdog thread (started on first use, ended when idle) shuts down the
sockets of the calls still running when their time is up. A read blocked on such a socket returns
at once, and the transport reports the deadline.

Sockets reach the deadline in two ways:

* the connections of :class:`DeadlineAdapter`, which the transport mounts on the session it
  creates, register their socket with the call running in their thread when they connect or are
  reused. That covers sending the request and waiting for the status line and headers;
* for any session, the socket of an answer is registered once its headers have arrived
  (:meth:`Deadline.attach_response`), which covers reading the body. With a session passed in by
  the caller (whose adapters are left as they are), the wait for the headers is bounded only by
  the per-read socket timeout.

Closing the answer from the watchdog would be simpler, but it does not end a read in progress:
``close()`` waits for the buffered reader, which waits for the bytes still to come.

Connecting is bounded by the connect timeout. A TLS handshake runs before its socket can be
registered, so it too is bounded per read only.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from typing import Any

import requests
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection

__all__ = ["Deadline", "DeadlineAdapter"]

# The watchdog thread ends after this long without a call to watch, and starts again on demand.
_IDLE_SECONDS = 30.0


class Deadline:
    """The time limit of one call; the watchdog cuts its sockets when it passes.

    Use it as ``with Deadline(seconds) as deadline:`` around the call; sockets used inside the
    block (by :class:`DeadlineAdapter` connections, or given to :meth:`attach`) are shut down at
    the deadline, and never after the block has ended.
    """

    __slots__ = ("_done", "_lock", "_previous", "_sockets", "at", "expired", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._done = False
        self._previous: Deadline | None = None

    def passed(self) -> bool:
        """True once the watchdog has cut the call or the time is up."""
        return self.expired or time.monotonic() >= self.at

    def attach(self, sock: socket.socket | None) -> None:
        """Cut ``sock`` at the deadline (at once if the watchdog has already cut the call)."""
        if sock is None:
            return
        with self._lock:
            if self._done:
                return
            self._sockets.append(sock)
            if self.expired:
                _shut_down(sock)

    def attach_response(self, response: requests.Response) -> None:
        """Cut the socket an answer's body is read from, if it has one."""
        self.attach(_answer_socket(response))

    def expire(self) -> None:
        """Called by the watchdog: mark the call late and shut down its sockets."""
        with self._lock:
            if self._done:
                return
            self.expired = True
            # Under the lock, so that once close() returns no socket of this call is touched:
            # by then the connection may be back in the pool, serving another call.
            for sock in self._sockets:
                _shut_down(sock)

    def __enter__(self) -> Deadline:
        _WATCHDOG.watch(self)
        self._previous = getattr(_current, "deadline", None)
        _current.deadline = self
        return self

    def finish(self) -> None:
        """Stop watching the call's sockets (the answer is in); no socket is cut after this.

        Call it as soon as the body is read: urllib3 hands a connection back to the pool when its
        answer ends, and from then on another call may be using it.
        """
        with self._lock:
            self._done = True
            self._sockets.clear()

    def __exit__(self, *exc: object) -> None:
        _current.deadline = self._previous
        self.finish()
        _WATCHDOG.forget()


def _answer_socket(response: requests.Response) -> socket.socket | None:
    """The socket an answer's body is read from; ``None`` for an adapter that answers in memory."""
    raw = response.raw
    sock = getattr(getattr(raw, "connection", None), "sock", None)  # urllib3's HTTPResponse
    if sock is None:
        # http.client lets go of the connection's socket when the server says "Connection:
        # close"; only the body's file still holds it, and no public attribute leads there.
        # Closing the answer from the watchdog instead does not work: it waits for the read
        # in progress to finish. Should this path change in urllib3 or http.client, the body
        # is bounded per read only (DeadlineAdapter's connections are registered earlier).
        body_file = getattr(getattr(raw, "_fp", None), "fp", None)
        sock = getattr(getattr(body_file, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


def _shut_down(sock: socket.socket) -> None:
    # shutdown() wakes a recv() blocked in another thread; close() would not. socket.socket's
    # method is called even for an SSLSocket, whose own shutdown() also unwraps the TLS object
    # under the reading thread's feet (it then fails with ValueError instead of a clean EOF).
    with contextlib.suppress(OSError):  # already closed or never connected
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread that expires deadlines in order, sleeping until the next one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._running = False
        self._live = 0

    def watch(self, deadline: Deadline) -> None:
        with self._cond:
            self._live += 1
            # Ended calls stay in the heap until their time; drop them when they are most of it.
            if len(self._heap) > 256 and len(self._heap) > 4 * self._live:
                self._heap = [entry for entry in self._heap if not entry[2]._done]
                heapq.heapify(self._heap)
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="toolkit-deadline", daemon=True).start()
            elif self._heap[0][2] is deadline:
                self._cond.notify()

    def forget(self) -> None:
        with self._cond:
            self._live -= 1

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    heapq.heappop(self._heap)[2].expire()
                if self._heap:
                    self._cond.wait(self._heap[0][0] - now)
                    continue
                self._cond.wait(_IDLE_SECONDS)
                if not self._heap:
                    self._running = False
                    return


_WATCHDOG = _Watchdog()
_current = threading.local()  # the Deadline of the call running in this thread, if any


def _register(sock: socket.socket | None) -> None:
    deadline: Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.attach(sock)


class _Registering(HTTPConnection):
    """Mixin for urllib3 connections: hand the socket to the running call's deadline.

    It derives from ``HTTPConnection`` so that its ``super()`` calls are typed; placed before
    ``HTTPSConnection`` in a class's bases, ``super()`` still reaches the TLS ``connect``.
    """

    def connect(self) -> None:
        super().connect()
        _register(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(self.sock)  # a connection reused from the pool (None when new: see connect)
        super().request(*args, **kwargs)


class _HTTPConnection(_Registering, HTTPConnection):
    pass


class _HTTPSConnection(_Registering, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """``requests``' HTTP adapter whose direct connections can be cut at a call's deadline.

    Proxied requests use requests' own proxy managers (deadline on the body only).
    """

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
