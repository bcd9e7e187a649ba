"""The sync hook against hostile loopback servers written apart from the emulator: a slow drip is cut
on the wall clock, a huge answer is refused without being held, and a redirect reaches no other host."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from loopback_servers import LoopbackServer, drip, huge, json_answer, redirect

from airflow_provider_hubspot_imports.core.limits import MAX_ANSWER_BYTES
from airflow_provider_hubspot_imports.errors import (
    HubSpotAnswerTooLargeError,
    HubSpotConnectionError,
    HubSpotRedirectError,
)
from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook

TOKEN = "pat-na1-bounds-test-token"
RECORD = json.dumps(
    {"id": "2", "state": "DONE", "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"}
).encode()


def use_connection(monkeypatch, conn_id: str, **conn) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "hubspot", **conn}))


@pytest.mark.parametrize(
    "answer",
    [
        # headers at once, then the body a byte every 0.1 s: each read returns well within `timeout`
        drip(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n",
            b"{" * 400,
            0.1,
        ),
        # the status line and headers themselves dripped
        drip(b"", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 0.1),
    ],
    ids=["body", "headers"],
)
def test_a_slow_drip_is_cut_within_the_call_budget(monkeypatch, answer):
    with LoopbackServer(answer) as server:
        use_connection(monkeypatch, "drip", host=server.url, password=TOKEN)
        hook = HubSpotHook("drip", timeout=0.5, max_retries=5, retry_max_seconds=1.5)
        started = time.monotonic()
        # The last attempt's deadline is the timeout (0.5 s) or, cut by retry_max_seconds, less
        # (never below the 0.1 s floor of RetryPolicy.attempt_timeout).
        deadline = r"within 0\.[1-9]\d? s, the attempt's wall-clock deadline"
        with pytest.raises(HubSpotConnectionError, match=deadline):
            hook.get_import(1)
        elapsed = time.monotonic() - started
    # Per-read timeouts held this call for 40 s (every read returned in 0.1 s); the deadline ends it
    # within a few seconds of retry_max_seconds.
    assert elapsed < 1.5 + 3, elapsed
    assert len(server.received) >= 2  # it was retried, each attempt cut on time


_MEASURE = textwrap.dedent(
    """
    import json, os, sys
    conn = {"conn_type": "hubspot", "host": sys.argv[1], "password": sys.argv[2]}
    os.environ["AIRFLOW_CONN_BIG"] = json.dumps(conn)
    sys.path.insert(0, sys.argv[3])
    import requests
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
    from airflow_provider_hubspot_imports.errors import HubSpotError
    from peak_memory import peak_growth_mib

    hook = HubSpotHook("big", max_retries=3, retry_max_seconds=60)
    hook.get_import(2)  # warm up: every code path of a call has run once
    error = None
    def refused():
        global error
        try:
            hook.get_import(1)
        except HubSpotError as exc:
            error = {"type": type(exc).__name__, "message": str(exc)}
    growth = peak_growth_mib(refused)
    # The control: the same answer read whole, as requests does by default, must show up.
    unbounded = peak_growth_mib(lambda: requests.get(sys.argv[1] + "/crm/imports/2026-03/1").content)
    print(json.dumps({"growth_mib": growth, "unbounded_mib": unbounded, "error": error}))
    """
)


@pytest.mark.parametrize("declare_length", [True, False], ids=["content-length", "streamed-to-close"])
def test_a_64_mib_answer_is_refused_with_little_memory_and_not_downloaded_again(declare_length):
    big = huge(64 * 1024 * 1024, declare_length=declare_length)

    def answer(request, sock):
        if request.path.endswith("/1"):
            big(request, sock)
        else:
            sock.sendall(json_answer(200, RECORD))

    with LoopbackServer(answer) as server:
        run = subprocess.run(
            [sys.executable, "-c", _MEASURE, server.url, TOKEN, str(Path(__file__).parent)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        result = json.loads(run.stdout.strip().splitlines()[-1])
        big_requests = [request for request in server.received if request.path.endswith("/1")]
    assert result["error"]["type"] == HubSpotAnswerTooLargeError.__name__
    assert f"larger than {MAX_ANSWER_BYTES // 2**20} MiB" in result["error"]["message"]
    assert result["growth_mib"] < 32, result
    assert result["unbounded_mib"] > 64, result  # the measurement sees a whole read
    assert len(big_requests) == 2  # the hook's one attempt, then the control: refused, not retried
    kind = "declared" if declare_length else "streamed"
    print(
        f"peak RSS growth, 64 MiB answer ({kind}): hook {result['growth_mib']:.1f} MiB, whole read "
        f"{result['unbounded_mib']:.1f} MiB"
    )


def test_a_redirected_get_reaches_no_other_host(monkeypatch):
    other = LoopbackServer(lambda request, sock: sock.sendall(json_answer(200, RECORD)))
    hubspot = LoopbackServer(redirect(f"{other.url}/crm/imports/2026-03/1"))
    with other, hubspot:
        use_connection(monkeypatch, "redirected", host=hubspot.url, password=TOKEN)
        with pytest.raises(HubSpotRedirectError, match="HTTP 307, a redirect to") as caught:
            HubSpotHook("redirected").get_import(1)
    assert caught.value.location == f"{other.url}/crm/imports/2026-03/1"
    assert caught.value.status == 307
    assert len(hubspot.received) == 1  # a redirect is permanent: not retried
    assert other.received == []
    assert TOKEN not in str(caught.value)


def test_a_redirected_token_grant_sends_no_secret_to_another_host(monkeypatch):
    other = LoopbackServer(lambda request, sock: sock.sendall(json_answer(200, b"{}")))
    hubspot = LoopbackServer(redirect(f"{other.url}/oauth/v1/token", status=308))
    with other, hubspot:
        use_connection(
            monkeypatch,
            "oauth_redirected",
            host=hubspot.url,
            extra={"client_id": "app", "client_secret": "secret-abc", "refresh_token": "refresh-xyz"},
        )
        with pytest.raises(HubSpotRedirectError, match="HTTP 308") as caught:
            HubSpotHook("oauth_redirected").get_import(1)
    assert [request.path for request in hubspot.received] == ["/oauth/v1/token"]
    assert other.received == []
    assert "secret-abc" not in str(caught.value) and "refresh-xyz" not in str(caught.value)
