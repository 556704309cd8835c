"""The push receiver inside an existing web service: a Flask blueprint, or an ASGI app for
FastAPI and Starlette.

Flask::

    app.register_blueprint(flask_blueprint(receiver), url_prefix="/pushes")

FastAPI or Starlette::

    app.mount("/pushes", asgi_app(receiver))

Either way the receiver keeps its own answers (200 only once a push is committed, a 4xx with a
JSON reason for a malformed one, 503 when the store cannot commit) and its verification. Any WSGI
mount works too (werkzeug's ``DispatcherMiddleware(app.wsgi_app, {"/pushes": receiver})``): the
receiver is a WSGI app.

The VoiceCall signature covers the push URL, that is the *full* public URL with the mount prefix
(``https://example.com/pushes/status``). The receiver rebuilds it from the request as
``SCRIPT_NAME + PATH_INFO``, which both mounts fill in as the URL the client asked for; behind a
proxy that rewrites the host or the path, give the receiver ``public_url``.

Flask, and a2wsgi for the ASGI bridge, are imported when a helper is called, never when
:mod:`toolkit` is imported; without them the helper raises :class:`~toolkit.errors.ConfigError`
naming ``pip install -e ".[frameworks]"``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .httpserver import call

if TYPE_CHECKING:
    from .receiver import Receiver

# Every method reaches the receiver, which answers those it does not take with its own JSON
# 405 (a framework's router would answer with an HTML page).
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _require(module: str, helper: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f'{helper} needs the {module.partition(".")[0]} package: pip install -e ".[frameworks]"'
        ) from None


def flask_blueprint(receiver: Receiver, name: str = "privacy_call_pushes") -> Any:
    """A Flask blueprint that hands every request under its prefix to ``receiver``.

    Register it with ``app.register_blueprint(bp, url_prefix="/pushes")``; pushes then go to
    ``/pushes/status``, ``/pushes/fee``... (any path: the receiver routes by body). ``name``
    must be unique among the app's blueprints. Flask's ``MAX_CONTENT_LENGTH``, if set below the
    receiver's ``max_body``, answers an oversized push first, with Flask's own 413 page.
    """
    flask = _require("flask", "flask_blueprint")
    blueprint = flask.Blueprint(name, __name__)

    def push(subpath: str = "") -> Any:
        request = flask.request
        environ = dict(request.environ)
        # Werkzeug's stream is bounded by Content-Length, and it is the input Flask has not
        # consumed (environ["wsgi.input"] may be the raw socket).
        environ["wsgi.input"] = request.stream
        status, reason, headers, payload = call(receiver.wsgi_app, environ)
        return flask.Response(payload, status=f"{status} {reason}", headers=headers)

    blueprint.add_url_rule("/", "push", push, methods=_METHODS)
    blueprint.add_url_rule("/<path:subpath>", "push_path", push, methods=_METHODS)
    return blueprint


def asgi_app(receiver: Receiver, *, workers: int = 16) -> Any:
    """An ASGI app serving ``receiver``: ``app.mount("/pushes", asgi_app(receiver))`` in
    FastAPI or Starlette.

    The receiver waits for its commit before answering, so it runs in a pool of ``workers``
    threads (a2wsgi's WSGI bridge), never on the event loop. The mount's ``root_path`` becomes
    ``SCRIPT_NAME``, so the URL a VoiceCall signature covers is rebuilt with the prefix.
    """
    a2wsgi = _require("a2wsgi", "asgi_app")
    return a2wsgi.WSGIMiddleware(receiver.wsgi_app, workers=workers)


__all__ = ["asgi_app", "flask_blueprint"]
