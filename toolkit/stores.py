"""Which store a ``db`` argument names: a SQLite file, or a PostgreSQL URL.

Light on purpose (no database driver): the CLI commands use it to tell a URL from a path and to
show a URL without its password, before anything is opened.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from typing import Any

__all__ = ["SCHEMES", "is_url", "mask_url", "open_store"]

SCHEMES = ("postgresql", "postgres")


def is_url(db: object) -> bool:
    """True when ``db`` is a PostgreSQL URL (``postgresql://`` or ``postgres://``)."""
    return isinstance(db, str) and db.split("://", 1)[0].lower() in SCHEMES and "://" in db


def mask_url(url: str) -> str:
    """``url`` with its password (in the user part or a ``password=`` parameter) replaced by
    ``***``: safe for messages and logs."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user, host = netloc.rsplit("@", 1)
        netloc = f"{user.split(':', 1)[0]}:***@{host}"
    query = re.sub(r"(^|&)(password=)[^&]*", r"\1\2***", parts.query, flags=re.IGNORECASE)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=query))


def open_store(db: str | os.PathLike[str] | None = None, **options: Any) -> Any:
    """A :class:`~toolkit.pgstore.PgStore` for a PostgreSQL URL, else a SQLite
    :class:`~toolkit.store.Store`.

    ``options`` are those of the class chosen (``readonly`` works for both).
    """
    from .store import Store

    # Store() itself opens a PgStore for a URL (see Store.__new__).
    return Store(db, **options)
