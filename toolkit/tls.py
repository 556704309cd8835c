"""TLS for the toolkit's own servers: a certificate made at start, and the server context.

The platform's APIs are HTTPS only, and clients written for it (Huawei's Java sample casts its
connection to ``HttpsURLConnection``) fail against a plain-HTTP emulator before sending anything.
:func:`make_local_certificate` makes, in a private temporary directory, a small certificate
authority and a server certificate it signs for ``127.0.0.1`` and ``localhost``. Clients trust
the CA file (``REQUESTS_CA_BUNDLE``, ``curl --cacert``, a Java truststore); the CA's private key
is never written anywhere, so that CA can vouch for this one server certificate and nothing else.

:func:`server_context` loads a certificate and key (made here or the user's own) into an
:class:`ssl.SSLContext` for :class:`~toolkit.httpserver.ThreadedWSGIServer`, which does the
handshake on its non-blocking sockets (:func:`handshake`) so that a client that connects and
sends nothing holds up no one.

Generating certificates needs the ``cryptography`` package (``pip install -e ".[tls]"``); serving
a pair of your own does not.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import shutil
import socket
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

LOCAL_HOSTS = ("127.0.0.1", "localhost")
# Long enough for a Java truststore made once to serve a day of work; a new CA is made at each
# start anyway.
VALID_DAYS = 30
_INSTALL = 'pip install -e ".[tls]"'


@dataclass(frozen=True)
class CertificateFiles:
    """PEM files of one server: ``ca_cert`` is what clients trust (the CA, or the server's own
    certificate when it is self-signed); ``directory`` is set when the files are temporary."""

    cert: str
    key: str
    ca_cert: str | None = None
    directory: str | None = None

    def remove(self) -> None:
        """Delete the temporary directory the files were made in (nothing for a user's pair)."""
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)


def _cryptography() -> Any:
    """The ``cryptography`` modules, or a :class:`ConfigError` saying how to install them."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        raise ConfigError(
            f"making a TLS certificate needs the cryptography package: {_INSTALL} "
            "(or pass a certificate and key of your own)",
            "tls",
        ) from None
    return x509, hashes, serialization, ec, ExtendedKeyUsageOID, NameOID


def make_local_certificate(
    hosts: tuple[str, ...] = LOCAL_HOSTS, *, directory: str | None = None
) -> CertificateFiles:
    """Make a CA and a server certificate it signs for ``hosts`` (IP addresses or DNS names).

    The files (``ca.pem``, ``server.pem``, ``server.key``) go to a new private temporary
    directory (mode 0700), or to ``directory``; call :meth:`CertificateFiles.remove` when done.
    Keys are ECDSA P-256: quick to make and to handshake with, and every TLS stack in use takes
    them. Both certificates carry the extensions strict verifiers ask for (key identifiers,
    critical basic constraints, key usage), so Python's ``VERIFY_X509_STRICT`` accepts them.
    """
    x509, hashes, serialization, ec, eku, name_oid = _cryptography()
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=VALID_DAYS)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(name_oid.COMMON_NAME, "privacy-call-toolkit local CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[Any] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(name_oid.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([eku.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    temporary = directory is None
    where = Path(tempfile.mkdtemp(prefix="toolkit-tls-") if directory is None else directory)
    pem = serialization.Encoding.PEM
    ca_path, cert_path, key_path = where / "ca.pem", where / "server.pem", where / "server.key"
    ca_path.write_bytes(ca.public_bytes(pem))
    cert_path.write_bytes(server.public_bytes(pem))
    # The key file is created private (0600) before a byte of the key is written to it.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
    return CertificateFiles(
        str(cert_path), str(key_path), str(ca_path), str(where) if temporary else None
    )


def server_context(cert: str | os.PathLike[str], key: str | os.PathLike[str]) -> ssl.SSLContext:
    """A server :class:`ssl.SSLContext` (TLS 1.2 or later) holding ``cert`` and ``key`` (PEM).

    A file that is missing, unreadable or not a matching PEM pair raises :class:`ConfigError`
    naming the file, never quoting its content.
    """
    for name, path in (("tls_cert", cert), ("tls_key", key)):
        if not Path(path).is_file():
            raise ConfigError(f"{name}: no such file: {os.fspath(path)}", name)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc.strerror or type(exc).__name__
        raise ConfigError(
            f"cannot load the TLS certificate {os.fspath(cert)} with key {os.fspath(key)} "
            f"({reason}): both must be PEM files, and the key must match the certificate",
            "tls_cert",
        ) from None
    return context


def check_ca_file(path: str | os.PathLike[str], name: str) -> str:
    """``path`` as text once it names a readable CA file; else :class:`ConfigError` naming it."""
    text = os.fspath(path)
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=text)
    except (ssl.SSLError, OSError, ValueError):
        raise ConfigError(f"{name}: not a readable PEM CA file: {text}", name) from None
    return text


# ---- the server side of a connection, on a non-blocking socket -----------------------------


def wrap(sock: socket.socket, context: ssl.SSLContext) -> ssl.SSLSocket:
    """Wrap an accepted non-blocking socket; the handshake is left to :func:`handshake`."""
    return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)


def handshake(sock: socket.socket) -> bool | None:
    """One non-blocking step of the server handshake of a socket from :func:`wrap`: True once
    done, False while it waits for the client (call again when the socket is readable), None when
    it failed (close it)."""
    assert isinstance(sock, ssl.SSLSocket)
    try:
        sock.do_handshake()
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
        # The server's first flight is a few KB, which an empty send buffer always takes: a
        # write-wait can only follow the client's lack of reading, and the deadline covers it.
        return False
    except ssl.SSLError as exc:  # not TLS, or a client that refused our certificate
        if exc.reason == "HTTP_REQUEST":
            # http:// to an https:// port: say so in plain HTTP, not with a bare reset.
            with contextlib.suppress(OSError):
                socket.socket.send(sock, _PLAIN_HTTP_REFUSAL)  # below the TLS layer
        return None
    except OSError:  # a reset
        return None
    return True


_PLAIN_BODY = (
    b'{"resultcode":"1","error":"tls","reason":"this server speaks HTTPS: use an https:// URL"}'
)
_PLAIN_HTTP_REFUSAL = (
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json;charset=UTF-8\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(_PLAIN_BODY), _PLAIN_BODY)
)


def drain(sock: socket.socket) -> bytes:
    """What the TLS layer has decrypted already but a ``recv`` did not return: the selector
    cannot see it, as it is no longer in the kernel's buffer."""
    assert isinstance(sock, ssl.SSLSocket)
    chunks = []
    while (size := sock.pending()) > 0:
        try:
            chunks.append(sock.recv(size))
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            break
    return b"".join(chunks)


WOULD_BLOCK = (ssl.SSLWantReadError, ssl.SSLWantWriteError)
