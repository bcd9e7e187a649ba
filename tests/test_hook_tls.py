"""The sync hook's TLS trust: one SSL context per session from the connection's CA bundle (or a
requests-style `verify` path), a clear error for a missing or unreadable bundle, and unknown extras
reported."""

from __future__ import annotations

import json
import logging
import ssl
import time

import pytest
from loopback_servers import LoopbackServer, drip, json_answer

from airflow_provider_hubspot_imports.errors import HubSpotConnectionError, HubSpotInputError
from airflow_provider_hubspot_imports.hooks import connection as connection_module
from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook

TOKEN = "pat-na1-tls-test-token"
RECORD = json.dumps(
    {"id": "7", "state": "DONE", "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"}
).encode()


def use_connection(monkeypatch, conn_id: str, **conn) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "hubspot", **conn}))


@pytest.fixture
def https_server(certificate):
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with LoopbackServer(lambda request, sock: sock.sendall(json_answer(200, RECORD)), tls=context) as server:
        yield server


@pytest.mark.parametrize("extra_name", ["ca_bundle", "verify"])
def test_the_connections_ca_bundle_is_trusted(monkeypatch, https_server, certificate, extra_name):
    use_connection(
        monkeypatch, "tls", host=https_server.url, password=TOKEN, extra={extra_name: str(certificate[0])}
    )
    hook = HubSpotHook("tls", max_retries=0)
    assert hook.get_import(7).state == "DONE"
    assert hook.get_import(7).state == "DONE"
    assert len(https_server.received) == 2


def test_the_system_store_alone_does_not_trust_a_private_ca(monkeypatch, https_server):
    use_connection(monkeypatch, "tls_default", host=https_server.url, password=TOKEN)
    with pytest.raises(HubSpotConnectionError, match=r"CERTIFICATE_VERIFY_FAILED|SSLError"):
        HubSpotHook("tls_default", max_retries=0).get_import(7)
    assert https_server.received == []


def test_requests_ca_bundle_in_the_environment_adds_no_trust(monkeypatch, https_server, certificate):
    """Only the connection decides what is trusted, as in the async client."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    use_connection(monkeypatch, "tls_env", host=https_server.url, password=TOKEN)
    with pytest.raises(HubSpotConnectionError, match=r"CERTIFICATE_VERIFY_FAILED|SSLError"):
        HubSpotHook("tls_env", max_retries=0).get_import(7)


def test_a_missing_bundle_is_an_input_error_before_any_request(monkeypatch, tmp_path):
    with LoopbackServer(lambda request, sock: sock.sendall(json_answer(200, RECORD))) as server:
        missing = tmp_path / "nowhere.pem"
        use_connection(
            monkeypatch, "tls_missing", host=server.url, password=TOKEN, extra={"ca_bundle": str(missing)}
        )
        with pytest.raises(HubSpotInputError, match=r"does not exist\. Set the extra 'ca_bundle'") as caught:
            HubSpotHook("tls_missing").get_import(7)
    assert str(missing) in str(caught.value) and "'tls_missing'" in str(caught.value)
    assert server.received == []


def test_an_unreadable_bundle_is_an_input_error(monkeypatch, tmp_path):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    use_connection(
        monkeypatch, "tls_garbage", host="https://127.0.0.1:9", password=TOKEN, extra={"verify": str(garbage)}
    )
    with pytest.raises(HubSpotInputError, match="could not be read as PEM certificates"):
        HubSpotHook("tls_garbage").get_import(7)


def test_unknown_extras_are_warned_about_once_naming_the_known_ones(monkeypatch, caplog):
    monkeypatch.setattr(connection_module, "_warned_extras", set())
    with LoopbackServer(lambda request, sock: sock.sendall(json_answer(200, RECORD))) as server:
        use_connection(monkeypatch, "typo", host=server.url, password=TOKEN, extra={"time_out": 5})
        with caplog.at_level(logging.WARNING, logger=connection_module.__name__):
            for _ in range(3):
                HubSpotHook("typo").get_import(7)
    warnings = [record.getMessage() for record in caplog.records if "does not read" in record.getMessage()]
    assert len(warnings) == 1
    assert "'time_out'" in warnings[0] and "timeout, max_retries" in warnings[0]


def test_a_slow_drip_over_tls_is_cut_on_the_wall_clock(monkeypatch, certificate):
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n"
    with LoopbackServer(drip(head, b"{" * 400, 0.4), tls=context) as server:
        use_connection(
            monkeypatch, "tls_drip", host=server.url, password=TOKEN, extra={"ca_bundle": str(cert)}
        )
        hook = HubSpotHook("tls_drip", timeout=1, max_retries=0)
        started = time.monotonic()
        with pytest.raises(HubSpotConnectionError, match="the attempt's wall-clock deadline"):
            hook.get_import(7)
        assert time.monotonic() - started < 1 + 3  # a per-read timeout would have waited 160 s


def test_the_ssl_context_is_built_once_per_bundle_and_again_when_the_file_changes(tmp_path, certificate):
    from airflow_provider_hubspot_imports.core.tls import shared_ssl_context

    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(certificate[0].read_bytes())
    first = shared_ssl_context(str(bundle))
    assert shared_ssl_context(str(bundle)) is first
    assert shared_ssl_context(None) is shared_ssl_context(None)
    bundle.write_bytes(certificate[0].read_bytes() * 2)  # rotated: the file changed
    assert shared_ssl_context(str(bundle)) is not first
