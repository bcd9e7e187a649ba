"""The async client's transport against loopback servers: no credential follows a redirect, one
bounded pool whose queue counts against each attempt's deadline, proxies from the environment, TLS
trust, and waits that survive a rotated credential. The hostile cases both transports share are in
test_hostile_servers.py."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import ssl
import threading
import time
from typing import Any

import pytest
from async_loopback_servers import LoopbackServer, Request, TunnelProxy, answer, import_record
from trigger_support import first_event

from airflow_provider_hubspot_imports.errors import (
    HubSpotConnectionError,
    HubSpotNotSentError,
    HubSpotRedirectError,
)
from airflow_provider_hubspot_imports.hooks import hubspot_async
from airflow_provider_hubspot_imports.hooks.hubspot_async import HubSpotAsyncClient
from airflow_provider_hubspot_imports.triggers.imports import ImportStateTrigger

IMPORT_ID = 4242
OAUTH_EXTRAS = {"client_id": "app-client-1", "client_secret": "cs-very-secret", "refresh_token": "rt-secret"}
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY")


def use_secrets_backend(monkeypatch: pytest.MonkeyPatch, backend: str, connections: Any) -> None:
    """Point Airflow at a file-based secrets backend. Airflow 3.3 memoises its backends per process:
    the cache is cleared now and a fresh one restored when the test ends, so each test gets the
    backend it configured (older versions build them per lookup)."""
    monkeypatch.setenv("AIRFLOW__SECRETS__BACKEND", backend)
    kwargs = {"connections_file_path": str(connections)}
    monkeypatch.setenv("AIRFLOW__SECRETS__BACKEND_KWARGS", json.dumps(kwargs))
    try:
        from airflow.sdk.configuration import clear_secrets_backends_cache
    except ImportError:
        return
    clear_secrets_backends_cache()
    monkeypatch.setattr("airflow.sdk.configuration._secrets_backend_cache", {})


def read_import(conn_id: str = "hubspot_default") -> Any:
    async def read() -> Any:
        async with HubSpotAsyncClient(conn_id) as client:
            return await client.get_import(IMPORT_ID)

    return asyncio.run(read())


def use(monkeypatch: pytest.MonkeyPatch, server: LoopbackServer, **fields: Any) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", server.connection_json(**fields))


def record_server(request: Request, conn: Any) -> None:
    answer(conn, 200, import_record(request.path.rsplit("/", 1)[1], "DONE"))


def test_a_redirected_token_grant_sends_no_credential_elsewhere(monkeypatch: pytest.MonkeyPatch):
    with LoopbackServer(record_server) as elsewhere:

        def redirect(request: Request, conn: Any) -> None:
            answer(conn, 307, headers={"Location": f"{elsewhere.base_url}/oauth/v1/token"})

        with LoopbackServer(redirect) as server:
            monkeypatch.setenv(
                "AIRFLOW_CONN_HUBSPOT_DEFAULT",
                json.dumps({"conn_type": "hubspot", "host": server.base_url, "extra": OAUTH_EXTRAS}),
            )
            with pytest.raises(HubSpotRedirectError) as raised:
                read_import()

    assert [request.line.split(" ")[:2] for request in server.requests] == [["POST", "/oauth/v1/token"]]
    assert elsewhere.requests == []
    for secret in (OAUTH_EXTRAS["client_secret"], OAUTH_EXTRAS["refresh_token"]):
        assert secret not in str(raised.value)


def test_many_clients_share_one_bounded_pool(monkeypatch: pytest.MonkeyPatch):
    def slow_record(request: Request, conn: Any) -> None:
        time.sleep(0.02)
        record_server(request, conn)

    pools_seen: set[int] = set()

    async def scenario() -> list[str]:
        async def one() -> str:
            async with HubSpotAsyncClient() as client:
                pools_seen.add(hubspot_async.open_pools())
                return (await client.get_import(IMPORT_ID)).state.value

        states = await asyncio.gather(*(one() for _ in range(3 * hubspot_async.POOL_SIZE)))
        pools_seen.add(hubspot_async.open_pools())
        return list(states)

    with LoopbackServer(slow_record) as server:
        use(monkeypatch, server)
        states = asyncio.run(scenario())

    assert states == ["DONE"] * 3 * hubspot_async.POOL_SIZE
    assert pools_seen == {1, 0}  # one pool while any client is open, closed by the last one
    assert len(server.requests) == 3 * hubspot_async.POOL_SIZE
    assert server.connections <= hubspot_async.POOL_SIZE  # kept alive and reused, never more


def test_the_wait_for_a_pooled_connection_counts_against_the_attempts_deadline(
    monkeypatch: pytest.MonkeyPatch,
):
    """With every connection busy, a request queues for one; that wait is part of its attempt's
    deadline, so a queued poll is cut like a slow one instead of waiting out the request ahead.
    The two waits share the pool (same host and timeout); the second's attempt is cut to 1 s by
    its retry_max_seconds, while the server holds the first one's answer."""
    from airflow_provider_hubspot_imports.hooks import async_transport

    release = threading.Event()

    def held(request: Request, conn: Any) -> None:
        release.wait(20)
        record_server(request, conn)

    async def read(conn_id: str) -> Any:
        async with HubSpotAsyncClient(conn_id) as client:
            return await client.get_import(IMPORT_ID)

    async def scenario() -> tuple[BaseException | None, int, Any]:
        first = asyncio.ensure_future(read("hubspot_default"))
        await asyncio.sleep(0.2)  # the first holds the pool's only connection
        try:
            await read("hubspot_queued")
            queued_error = None
        except HubSpotConnectionError as error:
            queued_error = error
        reached = len(server.requests)
        release.set()
        return queued_error, reached, await first

    monkeypatch.setattr(async_transport, "POOL_SIZE", 1)
    with LoopbackServer(held) as server:
        use(monkeypatch, server, extra={"timeout": 20})
        queued = server.connection_json(extra={"timeout": 20, "retry_max_seconds": 1, "max_retries": 0})
        monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_QUEUED", queued)
        try:
            queued_error, reached, first = asyncio.run(scenario())
        finally:
            release.set()

    assert queued_error is not None, "the queued poll waited out the request ahead of it"
    assert re.search(r"within 1 s, the attempt's wall-clock deadline", str(queued_error)), queued_error
    assert reached == 1  # the queued request never got a connection, so was never sent
    assert first.state.value == "DONE"  # the request ahead was not disturbed


@pytest.mark.parametrize("exempt", [False, True], ids=["HTTP_PROXY", "NO_PROXY exempts the host"])
def test_the_proxy_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, exempt: bool):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with LoopbackServer(record_server) as proxy, LoopbackServer(record_server) as server:
        use(monkeypatch, server)
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        if exempt:
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert read_import().state.value == "DONE"

    url = f"{server.base_url}/crm/imports/2026-03/{IMPORT_ID}"
    if exempt:
        assert proxy.requests == [] and len(server.requests) == 1
    else:
        assert server.requests == []
        assert [request.path for request in proxy.requests] == [url]  # absolute-form: a proxy request
        assert proxy.requests[0].headers["authorization"] == "Bearer pat-na1-loopback"


def test_a_missing_ca_bundle_ends_the_wait_with_an_error_event(monkeypatch: pytest.MonkeyPatch, tmp_path):
    missing = tmp_path / "no-such-ca.pem"
    with LoopbackServer(record_server) as server:
        use(monkeypatch, server, extra={"ca_bundle": str(missing)})
        event = first_event(ImportStateTrigger(import_id=IMPORT_ID, poll_interval=0.05))

    assert event["status"] == "error"
    assert str(missing) in event["message"] and "does not exist" in event["message"]
    assert server.requests == []


class RotatingServer:
    """Accepts `old` until it has answered once, then only `new`: the platform team rotated the token
    (and `rotate()` rewrote where the connection lives) between two polls."""

    def __init__(self, rotate: Any) -> None:
        self.accepted = "pat-na1-loopback"
        self.rotate = rotate
        self.seen: list[tuple[str, int]] = []

    def __call__(self, request: Request, conn: Any) -> None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token != self.accepted:
            self.seen.append((token, 401))
            answer(
                conn, 401, {"status": "error", "category": "INVALID_AUTHENTICATION", "message": "bad token"}
            )
            return
        first = not self.seen
        self.seen.append((token, 200))
        answer(conn, 200, import_record(str(IMPORT_ID), "PROCESSING" if first else "DONE"))
        if first and self.rotate is not None:
            self.accepted = "pat-na1-rotated"
            self.rotate()


def test_a_token_rotated_mid_wait_is_read_again_after_a_401(monkeypatch: pytest.MonkeyPatch, logged):
    server_box: list[LoopbackServer] = []

    def rotate_env() -> None:  # the test's monkeypatch restores the variable afterwards
        os.environ["AIRFLOW_CONN_HUBSPOT_DEFAULT"] = server_box[0].connection_json(password="pat-na1-rotated")

    rotating = RotatingServer(rotate_env)
    with LoopbackServer(rotating) as server:
        server_box.append(server)
        use(monkeypatch, server)
        event = first_event(ImportStateTrigger(import_id=IMPORT_ID, poll_interval=0.05))
    output = logged()

    assert event["status"] == "succeeded"
    assert rotating.seen == [("pat-na1-loopback", 200), ("pat-na1-loopback", 401), ("pat-na1-rotated", 200)]
    assert "was read again and holds new ones" in output
    assert "pat-na1-rotated" not in output


def test_a_token_rotated_in_a_secrets_backend_file_is_read_again(monkeypatch: pytest.MonkeyPatch, tmp_path):
    connections = tmp_path / "connections.json"

    def write(server: LoopbackServer, token: str) -> None:
        conn = {"conn_type": "hubspot", "host": server.base_url, "password": token}
        connections.write_text(json.dumps({"hubspot_rotating": conn}))

    server_box: list[LoopbackServer] = []
    rotating = RotatingServer(lambda: write(server_box[0], "pat-na1-rotated"))
    use_secrets_backend(monkeypatch, "airflow.secrets.local_filesystem.LocalFilesystemBackend", connections)
    monkeypatch.delenv("AIRFLOW_CONN_HUBSPOT_ROTATING", raising=False)
    with LoopbackServer(rotating) as server:
        server_box.append(server)
        write(server, "pat-na1-loopback")
        trigger = ImportStateTrigger(
            import_id=IMPORT_ID, hubspot_conn_id="hubspot_rotating", poll_interval=0.05
        )
        event = first_event(trigger)

    assert event["status"] == "succeeded", event
    assert rotating.seen == [("pat-na1-loopback", 200), ("pat-na1-loopback", 401), ("pat-na1-rotated", 200)]


def test_a_401_with_unchanged_credentials_ends_the_wait_after_one_lookup(monkeypatch: pytest.MonkeyPatch):
    rotating = RotatingServer(None)
    rotating.accepted = "pat-na1-someone-else"
    with LoopbackServer(rotating) as server:
        use(monkeypatch, server)
        event = first_event(ImportStateTrigger(import_id=IMPORT_ID, poll_interval=0.05))

    assert event["status"] == "error"
    assert "401" in event["message"]
    assert rotating.seen == [("pat-na1-loopback", 401)]  # the same credentials are not sent again


def test_oauth_token_caches_are_keyed_on_every_credential_and_dropped(monkeypatch: pytest.MonkeyPatch):
    with LoopbackServer(record_server) as server:
        for conn_id, secret in (("hubspot_a", "cs-one"), ("hubspot_b", "cs-fixed"), ("hubspot_c", "cs-one")):
            extra = {**OAUTH_EXTRAS, "client_secret": secret}
            conn = {"conn_type": "hubspot", "host": server.base_url, "extra": extra}
            monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))

        async def scenario() -> tuple[int, bool, bool, int]:
            async with (
                HubSpotAsyncClient("hubspot_a") as a,
                HubSpotAsyncClient("hubspot_b") as b,
                HubSpotAsyncClient("hubspot_c") as c,
            ):
                caches = hubspot_async.open_token_caches()
                shared_ac, shared_ab = a._tokens is c._tokens, a._tokens is b._tokens
            return caches, shared_ac, shared_ab, hubspot_async.open_token_caches()

        caches, shared_ac, shared_ab, caches_after = asyncio.run(scenario())

    assert caches == 2  # a fixed client_secret gets its own cache, not the old secret's tokens
    assert shared_ac and not shared_ab
    assert caches_after == 0  # evicted with the last wait that used them
    assert server.requests == []


def test_waits_starting_together_share_one_connection_lookup(monkeypatch: pytest.MonkeyPatch, tmp_path):
    from async_loopback_servers import CountingSecretsBackend

    connections = tmp_path / "connections.json"
    use_secrets_backend(monkeypatch, "async_loopback_servers.CountingSecretsBackend", connections)
    monkeypatch.delenv("AIRFLOW_CONN_HUBSPOT_COUNTED", raising=False)
    CountingSecretsBackend.lookups.clear()

    async def scenario() -> tuple[int, int]:
        async def one() -> str:
            async with HubSpotAsyncClient("hubspot_counted") as client:
                return (await client.get_import(IMPORT_ID)).state.value

        await asyncio.gather(*(one() for _ in range(50)))
        together = len(CountingSecretsBackend.lookups)
        await one()  # a wait that starts later reads the connection anew
        return together, len(CountingSecretsBackend.lookups)

    with LoopbackServer(record_server) as server:
        conn = {"conn_type": "hubspot", "host": server.base_url, "password": "pat-na1-loopback"}
        connections.write_text(json.dumps({"hubspot_counted": conn}))
        together, after = asyncio.run(scenario())

    assert together == 1
    assert after == 2
    assert len(server.requests) == 51


# ---- HTTP on the wire: framing, keep-alive, TLS, proxies -------------------------------------


def clear_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def read_twice(pause: float = 0.0, conn_id: str = "hubspot_default") -> list[str]:
    """Two polls by one client, `pause` seconds apart."""

    async def read() -> list[str]:
        async with HubSpotAsyncClient(conn_id) as client:
            first = await client.get_import(IMPORT_ID)
            await asyncio.sleep(pause)
            second = await client.get_import(IMPORT_ID)
        return [first.state.value, second.state.value]

    return asyncio.run(read())


def test_a_chunked_answer_is_decoded(monkeypatch: pytest.MonkeyPatch):
    def chunked(request: Request, conn: Any) -> None:
        body = json.dumps(import_record(str(IMPORT_ID), "DONE")).encode()
        parts = [body[:10], body[10:50], body[50:]]
        framed = b"".join(b"%x;note=x\r\n%s\r\n" % (len(part), part) for part in parts)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            + framed
            + b"0\r\nX-Trailer: ignored\r\n\r\n"
        )

    with LoopbackServer(chunked) as server:
        use(monkeypatch, server)
        assert read_twice() == ["DONE", "DONE"]

    assert len(server.requests) == 2 and server.connections == 1  # kept alive after a chunked answer


def test_connection_close_and_idle_connections_are_not_reused(monkeypatch: pytest.MonkeyPatch):
    from airflow_provider_hubspot_imports.hooks import async_transport

    def closing(request: Request, conn: Any) -> None:
        answer(conn, 200, import_record(str(IMPORT_ID), "DONE"), headers={"Connection": "close"})

    with LoopbackServer(closing) as server:
        use(monkeypatch, server)
        assert read_twice() == ["DONE", "DONE"]
    assert server.connections == 2  # "Connection: close" is honoured

    monkeypatch.setattr(async_transport, "KEEPALIVE_SECONDS", 0.05)
    with LoopbackServer(record_server) as server:
        use(monkeypatch, server)
        assert read_twice(pause=0.3) == ["DONE", "DONE"]
    assert server.connections == 2  # idle past the keep-alive time: dropped, a new one opened


def test_a_reused_connection_that_fails_is_not_sent_again_silently(monkeypatch: pytest.MonkeyPatch):
    """The server takes the second request on the kept-alive connection, then drops it unanswered.
    HubSpot may have acted on it: the transport reports it, and only the retry policy may resend."""

    def drop_second(request: Request, conn: Any) -> None:
        if len(server.requests) == 2:
            conn.shutdown(socket.SHUT_RDWR)
            raise ConnectionError("dropped on purpose")
        record_server(request, conn)

    with LoopbackServer(drop_second) as server:
        use(monkeypatch, server, extra={"max_retries": 0})
        with pytest.raises(HubSpotConnectionError, match="could not reach") as raised:
            read_twice()

    assert not isinstance(raised.value, HubSpotNotSentError)  # it was sent: not "nothing was sent"
    assert len(server.requests) == 2 and server.connections == 1


def test_query_params_and_a_json_body_are_sent_as_given(monkeypatch: pytest.MonkeyPatch):
    from airflow_provider_hubspot_imports.core.protocol import ApiRequest

    with LoopbackServer(lambda request, conn: answer(conn, 200, {"ok": True})) as server:
        use(monkeypatch, server)

        async def scenario() -> Any:
            async with HubSpotAsyncClient() as client:
                url = f"{server.base_url}/crm/imports/2026-03"
                params = (("limit", "5"), ("after", "a b&c"))
                await client.call(ApiRequest("GET", url, describe="list", params=params))
                return await client.call(ApiRequest("POST", url, describe="post", json_body={"name": "é"}))

        assert asyncio.run(scenario()) == {"ok": True}

    listed, posted = server.requests
    assert listed.path == "/crm/imports/2026-03?limit=5&after=a+b%26c"
    assert "accept-encoding" not in listed.headers  # answers come uncompressed
    assert posted.headers["content-type"] == "application/json"
    assert json.loads(posted.body) == {"name": "é"}
    assert posted.headers["authorization"] == "Bearer pat-na1-loopback"


@pytest.fixture
def https_record_server(certificate):
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with LoopbackServer(record_server, tls=context) as server:
        yield server


def test_tls_is_verified_against_the_connections_ca_bundle(
    monkeypatch: pytest.MonkeyPatch, https_record_server: LoopbackServer, certificate
):
    clear_proxies(monkeypatch)
    use(monkeypatch, https_record_server, extra={"ca_bundle": str(certificate[0]), "max_retries": 0})
    assert read_twice() == ["DONE", "DONE"]
    assert https_record_server.connections == 1

    use(monkeypatch, https_record_server, extra={"max_retries": 0})  # the system store alone
    with pytest.raises(HubSpotNotSentError, match="CERTIFICATE_VERIFY_FAILED"):
        read_import()
    assert len(https_record_server.requests) == 2  # the untrusted handshake carried no request


def test_https_goes_through_the_environments_proxy_in_a_connect_tunnel(
    monkeypatch: pytest.MonkeyPatch, https_record_server: LoopbackServer, certificate
):
    clear_proxies(monkeypatch)
    use(monkeypatch, https_record_server, extra={"ca_bundle": str(certificate[0]), "max_retries": 0})
    with TunnelProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url.replace("http://", "http://user:p%40ss@"))
        assert read_twice() == ["DONE", "DONE"]

    assert [request.line for request in proxy.connects] == [
        f"CONNECT 127.0.0.1:{https_record_server.port} HTTP/1.1"
    ]  # one tunnel, kept alive for both polls
    assert proxy.connects[0].headers["proxy-authorization"] == "Basic dXNlcjpwQHNz"  # user:p@ss
    assert len(https_record_server.requests) == 2
    assert https_record_server.requests[0].headers["authorization"] == "Bearer pat-na1-loopback"


def test_a_proxy_that_is_not_http_is_refused_before_any_request(monkeypatch: pytest.MonkeyPatch):
    from airflow_provider_hubspot_imports.errors import HubSpotInputError

    clear_proxies(monkeypatch)
    with LoopbackServer(record_server) as server:
        use(monkeypatch, server)
        monkeypatch.setenv("HTTP_PROXY", "socks5://127.0.0.1:1080")
        with pytest.raises(HubSpotInputError, match="only http:// proxies are supported"):
            read_import()

    assert server.requests == []
