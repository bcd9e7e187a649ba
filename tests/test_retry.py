from __future__ import annotations

import random

import pytest
from tenacity import Retrying

from airflow_provider_hubspot_imports.core.retry import RetryPolicy, tenacity_arguments
from airflow_provider_hubspot_imports.errors import (
    HubSpotAuthError,
    HubSpotConnectionError,
    HubSpotRateLimitError,
    HubSpotServerError,
)

POLICY = RetryPolicy(max_retries=5, max_seconds=60, backoff_seconds=1.0)


def test_retry_after_is_a_floor_with_small_jitter():
    err = HubSpotServerError("x", retry_after=4.0)
    waits = [POLICY.wait_seconds(err, 1, random.Random(seed)) for seed in range(50)]
    assert all(4.0 <= w <= 4.4 for w in waits) and len(set(waits)) > 1


def test_rate_limit_without_retry_after_waits_out_the_window():
    err = HubSpotRateLimitError("x", window_seconds=10.0)
    assert all(10.0 <= POLICY.wait_seconds(err, 1, random.Random(s)) <= 11.0 for s in range(20))
    assert 10.0 <= POLICY.wait_seconds(HubSpotRateLimitError("x"), 1) <= 11.0  # no header: 10 s default


@pytest.mark.parametrize("retry_number", [1, 2, 3, 4, 8])
def test_exponential_backoff_with_equal_jitter_and_cap(retry_number):
    ceiling = min(30.0, 2 ** (retry_number - 1))
    for seed in range(20):
        wait = POLICY.wait_seconds(HubSpotConnectionError("x"), retry_number, random.Random(seed))
        assert ceiling / 2 <= wait <= ceiling


def test_only_retryable_errors_are_retried():
    assert POLICY.should_retry(HubSpotServerError("x"))
    assert not POLICY.should_retry(HubSpotAuthError("x"))
    assert not POLICY.should_retry(HubSpotRateLimitError("x", policy_name="DAILY"))
    assert not POLICY.should_retry(ValueError("x"))


def _run(policy, errors):
    calls = []
    sleeps = []
    args = tenacity_arguments(policy, _SilentLog(), "GET import 1")
    retrying = Retrying(sleep=sleeps.append, **args)

    def attempt():
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "ok"

    return retrying, attempt, calls, sleeps


class _SilentLog:
    def __init__(self):
        self.lines = []

    def warning(self, *args):
        self.lines.append(args[0] % args[1:])


def test_attempts_are_bounded():
    policy = RetryPolicy(max_retries=2, max_seconds=600, backoff_seconds=0.01)
    retrying, attempt, calls, sleeps = _run(policy, [HubSpotServerError("boom")] * 5)
    with pytest.raises(HubSpotServerError):
        retrying(attempt)
    assert len(calls) == 3 and len(sleeps) == 2


def test_a_wait_beyond_the_budget_stops_at_once():
    policy = RetryPolicy(max_retries=5, max_seconds=10, backoff_seconds=0.01)
    retrying, attempt, calls, sleeps = _run(policy, [HubSpotServerError("slow down", retry_after=60)])
    with pytest.raises(HubSpotServerError):
        retrying(attempt)
    assert len(calls) == 1 and sleeps == []


def test_transient_errors_then_success_and_each_retry_is_logged():
    log = _SilentLog()
    policy = RetryPolicy(max_retries=5, max_seconds=600, backoff_seconds=0.01)
    sleeps = []
    retrying = Retrying(sleep=sleeps.append, **tenacity_arguments(policy, log, "GET import 1"))
    errors = iter([HubSpotServerError("HTTP 503"), HubSpotConnectionError("reset")])

    def attempt():
        err = next(errors, None)
        if err:
            raise err
        return "ok"

    assert retrying(attempt) == "ok"
    assert len(sleeps) == 2
    assert log.lines[0].startswith("GET import 1: attempt 1 of 6 failed, retrying in")
    assert "Reason: HTTP 503" in log.lines[0] and "Reason: reset" in log.lines[1]
