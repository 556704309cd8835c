"""The emulator over HTTPS, its pushes to a receiver over HTTPS, and pushes signed with either
generation (X-AKSK, or X-WSSE for a legacy app). Over real loopback sockets."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from builders import fee_body, fee_info
from push_sink import PushSink

from toolkit.auth import format_created, new_nonce, password_digest, sign_headers
from toolkit.client import PrivateNumberClient
from toolkit.config import Settings
from toolkit.emulator import Emulator, EmulatorError
from toolkit.emulator.cli import main as cli_main
from toolkit.errors import TransportError
from toolkit.receiver import Receiver
from toolkit.tls import CertificateFiles, make_local_certificate

ROOT = Path(__file__).resolve().parents[2]
A, B = "+8613800000001", "+8613900000002"


@pytest.fixture(scope="module")
def tls_emulator() -> Iterator[Emulator]:
    emu = Emulator("axb", tls=True, time_scale=0, seed=3).start()
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def receiver_certs() -> Iterator[CertificateFiles]:
    files = make_local_certificate()
    yield files
    files.remove()


def test_the_client_binds_over_https_and_the_record_location_is_https(tls_emulator) -> None:
    emu = tls_emulator
    assert emu.url.startswith("https://127.0.0.1:") and emu.ca_cert is not None
    with emu.client() as client:
        binding = client.axb.bind(A, B, record_flag=True)
        assert client.axb.query(subscription_id=binding.subscription_id).total_count == 1
        receipt = emu.place_call(A, binding.relation_num, outcome="answered", talk_seconds=30)
        emu.wait_idle()
        cdr = emu.cdr(receipt["sessionId"])
        location = client.record_url(cdr["recordDomain"], cdr["recordObjectName"])
        # The recording API's 301 names the scheme and address the emulator serves.
        assert location.startswith(emu.url + "/_emulator/recordings/")
        wav = requests.get(location, verify=emu.ca_cert, timeout=10)
        assert wav.status_code == 200 and wav.content[:4] == b"RIFF"
        client.axb.unbind(subscription_id=binding.subscription_id)


def test_a_client_that_does_not_trust_the_ca_is_refused(tls_emulator, monkeypatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    settings = Settings(tls_emulator.url, tls_emulator.app_key, tls_emulator.app_secret)
    with PrivateNumberClient(settings) as client, pytest.raises(TransportError):
        client.axb.bind(A, B)  # verification is on by default: nothing is sent


def test_requests_ca_bundle_is_honoured(tls_emulator, monkeypatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", tls_emulator.ca_cert)
    settings = Settings(tls_emulator.url, tls_emulator.app_key, tls_emulator.app_secret)
    with PrivateNumberClient(settings) as client:
        binding = client.axb.bind("+8613800000011", "+8613900000012")
        client.axb.unbind(subscription_id=binding.subscription_id)


def test_a_certificate_of_your_own(receiver_certs) -> None:
    with Emulator(
        "ax", tls_cert=receiver_certs.cert, tls_key=receiver_certs.key,
        ca_cert=receiver_certs.ca_cert,
    ) as emu:  # fmt: skip
        assert emu.url.startswith("https://") and emu.ca_cert == receiver_certs.ca_cert
        with emu.client() as client:
            binding = client.ax.bind(A, area_code="0755")
            client.ax.unbind(subscription_id=binding.subscription_id)
    with pytest.raises(EmulatorError, match="both tls_cert and tls_key"):
        Emulator(tls_cert=receiver_certs.cert)


def self_signed(directory: Path) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (as ``openssl req -x509`` makes) and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "self.pem", directory / "self.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def test_a_self_signed_pair_is_its_own_ca(tmp_path) -> None:
    cert, key = self_signed(tmp_path)
    with Emulator("axb", tls_cert=cert, tls_key=key) as emu:
        assert emu.ca_cert == cert  # what CA_CERT= prints: the certificate trusts itself
        with emu.client() as client:
            client.axb.unbind(subscription_id=client.axb.bind(A, B).subscription_id)


def test_the_emulator_pushes_to_an_https_receiver_it_verifies(tmp_path, receiver_certs) -> None:
    with Emulator("axb", time_scale=0, seed=5) as probe:  # the credentials the receiver checks
        key, secret = probe.app_key, probe.app_secret
    rx = Receiver(
        tmp_path / "rx.db",
        app_key=key,
        app_secret=secret,
        tls_cert=receiver_certs.cert,
        tls_key=receiver_certs.key,
    ).start()
    try:
        assert rx.url is not None and rx.url.startswith("https://127.0.0.1:")
        fee_url = rx.url + "/fee"
        trusting = Emulator(
            app_key=key,
            app_secret=secret,
            fee_url=fee_url,
            time_scale=0,
            push_ca_cert=receiver_certs.ca_cert,
        )
        distrusting = Emulator(app_key=key, app_secret=secret, fee_url=fee_url, time_scale=0)
        for emu in (trusting, distrusting):
            with emu.client() as client:
                x = client.axb.bind(A, B).relation_num
            emu.place_call(A, x, outcome="busy")
            assert emu.wait_idle(10)
            emu.stop()
        (ok,) = trusting.deliveries("fee")
        refused = {(d["ok"], d["status"], d["error"]) for d in distrusting.deliveries("fee")}
        assert (ok["ok"], ok["status"]) == (True, 200)
        # Without the receiver's CA the push is not sent (each retry alike): verification is on.
        assert refused == {(False, None, "SSLError")}
        (row,) = rx.store.cdrs()
        assert (row["verified"], row["product"]) == (1, "privatenumber")
    finally:
        rx.stop()


@pytest.mark.parametrize("scheme", ["aksk", "wsse"])
def test_an_app_signs_its_pushes_with_its_own_generation(tmp_path, scheme) -> None:
    sink = PushSink()
    rx = None
    try:
        emu = Emulator("axb", auth_scheme=scheme, time_scale=0, status_url=sink.url + "/status")
        rx = Receiver(tmp_path / "rx.db", app_key=emu.app_key, app_secret=emu.app_secret).start()
        emu.default_app.fee_url = rx.url + "/fee"
        with emu.client() as client:
            assert client.settings.auth_scheme == scheme  # the client follows its app
            x = client.axb.bind(A, B).relation_num
        emu.place_call(A, x, outcome="answered", talk_seconds=5)
        assert emu.wait_idle(10) and sink.wait_for(1)
        emu.stop()
        headers = sink.received[0]["headers"]
        token = "X-WSSE" if scheme == "wsse" else "X-AKSK"
        other = "X-AKSK" if scheme == "wsse" else "X-WSSE"
        assert token in headers and other not in headers
        assert headers["Authorization"].startswith(scheme.upper() + " ")
        (row,) = rx.store.cdrs()
        assert row["verified"] == 1  # the receiver verifies either generation
        assert [d["ok"] for d in emu.deliveries("fee")] == [True]
    finally:
        sink.close()
        if rx is not None:
            rx.stop()


def test_a_forged_wsse_push_is_refused(tmp_path) -> None:
    key, secret = "LegacyApp0001", "the-real-secret"
    with Receiver(tmp_path / "rx.db", app_key=key, app_secret=secret) as rx:
        body = json.dumps(fee_body(fee_info(1))).encode()
        url = rx.url + "/fee"
        nonce, created = new_nonce(), format_created()
        forged_digest = password_digest("a-guessed-secret", nonce, created, "wsse")
        forged = {
            "Content-Type": "application/json",
            "Authorization": 'WSSE realm="SDP",profile="UsernameToken",type="Appkey"',
            "X-WSSE": f'UsernameToken Username="{key}",PasswordDigest="{forged_digest}",'
            f'Nonce="{nonce}",Created="{created}"',
        }
        answer = requests.post(url, data=body, headers=forged, timeout=10)
        assert answer.status_code == 401 and answer.json()["error"] == "bad-digest"
        # The same push signed with the secret, as X-WSSE, is taken.
        signed = {"Content-Type": "application/json", **sign_headers(key, secret, "wsse")}
        assert requests.post(url, data=body, headers=signed, timeout=10).status_code == 200
        assert [r["verified"] for r in rx.store.cdrs()] == [1]


# ---- the command line ----------------------------------------------------------------------


def start_cli(*args: str) -> tuple[subprocess.Popen[str], list[str]]:
    """``python -m toolkit emulator ARGS`` and the first four lines it prints."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "toolkit", "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    return proc, [proc.stdout.readline().rstrip("\n") for _ in range(4)]


def stop_cli(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_cli_tls_prints_the_ca_curl_completes_a_bind_and_pushes_are_wsse() -> None:
    sink = PushSink()
    proc, lines = start_cli("--tls", "--auth-scheme", "wsse", "--status-url", sink.url + "/s")
    try:
        url, key, secret, ca = lines
        assert url.startswith("https://127.0.0.1:")
        assert key.startswith("APP_KEY=") and secret.startswith("APP_SECRET=")
        assert ca.startswith("CA_CERT=") and Path(ca[8:]).is_file()
        app_key, app_secret = key[8:], secret[11:]
        api = url + "/rest/caas/relationnumber/partners/v1.0"
        # --auth-scheme wsse: the app's pushes carry X-WSSE.
        signed = {"Content-Type": "application/json", **sign_headers(app_key, app_secret)}
        bound = requests.post(api, json={"callerNum": A, "calleeNum": B}, headers=signed,
                              verify=ca[8:], timeout=10).json()  # fmt: skip
        call = {"caller": A, "called": bound["relationNum"], "outcome": "busy"}
        placed = requests.post(url + "/_emulator/calls", json=call, verify=ca[8:], timeout=10)
        assert placed.status_code == 200 and sink.wait_for(1)
        pushed = sink.received[0]["headers"]
        assert "X-WSSE" in pushed and pushed["Authorization"].startswith("WSSE ")
        curl = shutil.which("curl")
        if curl is None:
            pytest.skip("curl is not installed: the curl half of this test needs it")
        headers = sign_headers(app_key, app_secret)
        out = subprocess.run(
            [
                curl, "-sS", "--fail-with-body", "--cacert", ca[8:],
                "-H", "Content-Type: application/json;charset=UTF-8",
                "-H", f"Authorization: {headers['Authorization']}",
                "-H", f"X-AKSK: {headers['X-AKSK']}",
                "--data", json.dumps({"callerNum": "+8613800000021", "calleeNum": B}),
                api,
            ],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        answer = json.loads(out.stdout)
        assert answer["resultcode"] == "0" and answer["subscriptionId"]
        # Without the CA, curl refuses the certificate (exit 60), as any client should.
        bare = subprocess.run(
            [curl, "-sS", url + "/_emulator/health"], capture_output=True, timeout=30, check=False
        )
        assert bare.returncode == 60
    finally:
        stop_cli(proc)
        sink.close()
    assert not Path(ca[8:]).exists()  # the certificate made at start goes with the emulator


def test_cli_refuses_half_a_pair_and_names_a_bad_file(tmp_path, capsys) -> None:
    junk = tmp_path / "cert.pem"
    junk.write_text("not a certificate")
    with pytest.raises(SystemExit) as usage:
        cli_main(["--tls-cert", str(junk)])
    assert usage.value.code == 2 and "--tls-key" in capsys.readouterr().err
    assert cli_main(["--tls-cert", str(junk), "--tls-key", str(junk)]) == 1
    err = capsys.readouterr().err
    assert "cert.pem" in err and "not a certificate" not in err and "Traceback" not in err
