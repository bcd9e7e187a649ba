"""HubSpotAsyncClient: the shared pool, connection lookup, and parity with the sync hook."""

from __future__ import annotations

import asyncio
import json

import pytest

from airflow_provider_hubspot_imports.hooks import hubspot_async
from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot_imports.hooks.hubspot_async import HubSpotAsyncClient
from airflow_provider_hubspot_imports.testing import HubSpotEmulator


def test_clients_with_the_same_settings_share_one_pool(hubspot_connection: HubSpotEmulator, monkeypatch):
    other_token = "pat-na1-second-token-for-pool"
    hubspot_connection.model.tokens[other_token] = frozenset({"crm.import"})
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_OTHER", hubspot_connection.connection_json(token=other_token))
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)])

    async def scenario() -> tuple[int, bool, int, int, bool]:
        async with HubSpotAsyncClient() as first, HubSpotAsyncClient("hubspot_other") as second:
            same_pool = first._pool is second._pool
            pools_open = hubspot_async.open_pools()
            await asyncio.gather(first.get_import(import_id), second.get_import(import_id))
            assert first._pool is not None
            session = first._pool.session
        return (
            pools_open,
            same_pool,
            hubspot_async.open_pools(),
            len(hubspot_connection.requests()),
            session.closed,
        )

    pools_open, same_pool, pools_after, requests_made, closed = asyncio.run(scenario())

    assert same_pool  # different tokens, same host: one pool; the token travels per request
    assert pools_open == 1
    assert pools_after == 0 and closed  # the last user out closes the pool
    assert requests_made == 2
    assert all(entry.authorized for entry in hubspot_connection.requests())


def test_a_different_timeout_gets_its_own_pool(hubspot_connection: HubSpotEmulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_SLOW", hubspot_connection.connection_json(timeout=90))

    async def scenario() -> tuple[bool, int]:
        async with HubSpotAsyncClient() as first, HubSpotAsyncClient("hubspot_slow") as second:
            return first._pool is second._pool, hubspot_async.open_pools()

    assert asyncio.run(scenario()) == (False, 2)


def test_async_and_sync_paths_read_the_same_record(hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)], unknownField=[1, {"a": None}])

    async def read() -> dict:
        async with HubSpotAsyncClient() as client:
            return dict((await client.get_import(str(import_id))).raw)

    async_record = asyncio.run(read())
    hook = HubSpotHook()
    sync_record = dict(hook.get_import(import_id).raw)

    served = [entry.response_json() for entry in hubspot_connection.requests(import_id)]
    assert async_record == served[0]
    assert sync_record == served[1]
    user_agents = {entry.user_agent for entry in hubspot_connection.requests(import_id)}
    assert len(user_agents) == 1 and next(iter(user_agents)).startswith("airflow-provider-hubspot-imports/")


def test_settings_are_validated_before_any_request(hubspot_emulator: HubSpotEmulator, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_DEFAULT",
        json.dumps(
            {"conn_type": "hubspot", "host": "http://example.com", "password": hubspot_emulator.token}
        ),
    )

    async def read() -> None:
        async with HubSpotAsyncClient() as client:
            await client.get_import(1)

    from airflow_provider_hubspot_imports.errors import HubSpotInputError

    with pytest.raises(HubSpotInputError, match=r"plain http:// to example\.com") as raised:
        asyncio.run(read())
    assert hubspot_emulator.token not in str(raised.value)
    assert hubspot_emulator.requests() == []


def test_repr_shows_no_token(hubspot_connection: HubSpotEmulator):
    async def shown() -> str:
        async with HubSpotAsyncClient() as client:
            return repr(client) + repr(await client.settings())

    text = asyncio.run(shown())
    assert "hubspot_default" in text
    assert hubspot_connection.token not in text
