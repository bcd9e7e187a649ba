"""The worker hook (`HubSpotHook`, on requests) takes its proxy from the environment, as the async
transport does: ``HTTP_PROXY`` as absolute-form requests through a forward proxy, ``HTTPS_PROXY``
through a ``CONNECT`` tunnel with TLS verified end to end against the connection's CA bundle,
``NO_PROXY`` honoured."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator

import pytest
from async_loopback_servers import TunnelProxy
from loopback_servers import LoopbackServer, forward_proxy, json_answer

from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot_imports.testing import HubSpotEmulator

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY")
RECORD = json.dumps(
    {"id": "7", "state": "DONE", "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"}
).encode()


@pytest.fixture(autouse=True)
def no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def use(monkeypatch: pytest.MonkeyPatch, host: str, token: str, **extra: object) -> None:
    conn = {"conn_type": "hubspot", "host": host, "password": token, "extra": {"max_retries": 0, **extra}}
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(conn))


@pytest.mark.parametrize("exempt", [False, True], ids=["HTTP_PROXY", "NO_PROXY exempts the host"])
def test_http_goes_through_the_environments_forward_proxy(
    monkeypatch: pytest.MonkeyPatch, hubspot_emulator: HubSpotEmulator, exempt: bool
):
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)])
    use(monkeypatch, hubspot_emulator.base_url, hubspot_emulator.token)
    with LoopbackServer(forward_proxy) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        if exempt:
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        record = HubSpotHook().get_import(import_id)

    assert record.state.value == "DONE"
    assert len(hubspot_emulator.requests(import_id)) == 1
    if exempt:
        assert proxy.received == []
    else:
        [through] = proxy.received
        assert through.line == f"GET {hubspot_emulator.base_url}/crm/imports/2026-03/{import_id} HTTP/1.1"
        assert through.headers["authorization"] == f"Bearer {hubspot_emulator.token}"


@pytest.fixture
def https_server(certificate) -> Iterator[LoopbackServer]:
    """An https server (the certificate of 127.0.0.1 the `certificate` fixture made) answering
    every request with an import record."""
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with LoopbackServer(lambda request, sock: sock.sendall(json_answer(200, RECORD)), tls=context) as server:
        yield server


def test_https_goes_through_the_environments_proxy_in_a_connect_tunnel(
    monkeypatch: pytest.MonkeyPatch, https_server: LoopbackServer, certificate
):
    server = https_server
    with TunnelProxy() as proxy:
        use(monkeypatch, server.url, "pat-na1-loopback", ca_bundle=str(certificate[0]))
        monkeypatch.setenv("HTTPS_PROXY", proxy.url.replace("http://", "http://user:p%40ss@"))
        hook = HubSpotHook()
        states = [hook.get_import(7).state.value for _ in range(2)]

    assert states == ["DONE", "DONE"]
    port = server.url.rsplit(":", 1)[1]
    [tunnel] = proxy.connects  # one tunnel, kept alive for both reads
    assert tunnel.line.startswith(f"CONNECT 127.0.0.1:{port} HTTP/1.")
    assert tunnel.headers["proxy-authorization"] == "Basic dXNlcjpwQHNz"  # user:p@ss
    authorizations = [request.headers["authorization"] for request in server.received]
    assert authorizations == ["Bearer pat-na1-loopback"] * 2


def test_an_untrusted_certificate_behind_the_tunnel_is_refused(
    monkeypatch: pytest.MonkeyPatch, https_server: LoopbackServer
):
    """The tunnel does not loosen TLS: without the connection's CA bundle the handshake fails."""
    from airflow_provider_hubspot_imports.errors import HubSpotConnectionError

    server = https_server
    with TunnelProxy() as proxy:
        use(monkeypatch, server.url, "pat-na1-loopback")
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        with pytest.raises(HubSpotConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            HubSpotHook().get_import(7)

    assert len(proxy.connects) == 1 and server.received == []
