"""Calling a WSGI app by hand (the environ of one request, the app's answer): shared by the
in-process adapter and the threaded HTTP server, defined in :mod:`toolkit.httpserver`."""

from __future__ import annotations

from ..httpserver import call, make_environ

__all__ = ["call", "make_environ"]
