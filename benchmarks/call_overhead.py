"""Figure 1: what one `HubSpotHook.get_import` costs over a bare `requests` GET, and over `HttpHook`.

All three clients make the same authenticated GET of one import on the same emulator process,
in interleaved rounds; each round yields a ratio and the figure is the median ratio.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from benchmarks.emulator_process import REPO, EmulatorProcess
from benchmarks.report import Row
from benchmarks.stats import interleaved_rounds, median, median_ratio

HOOK_GOAL = 1.10  # x the floor
QUICK_MARGIN = 0.25  # quick mode fails only above 1.35x the floor, or when HttpHook is not slower


@dataclass(frozen=True)
class Plan:
    rounds: int
    calls_per_round: int
    http_rounds: int
    first_call_repeats: int


FULL = Plan(rounds=20, calls_per_round=100, http_rounds=10, first_call_repeats=7)
QUICK = Plan(rounds=10, calls_per_round=50, http_rounds=5, first_call_repeats=1)


def _fresh(count: int) -> str:
    return f"{count} fresh process{'es' if count != 1 else ''}"


def _import_path(import_id: int) -> str:
    return f"/crm/imports/2026-03/{import_id}"


def _contenders(
    emulator: EmulatorProcess, import_id: int
) -> tuple[dict[str, Callable[[], object]], dict[str, Callable[[], object]]]:
    """(hook and floor, hook and HttpHook): measured apart, because HttpHook opens a new connection
    per call and the churn (server threads, sockets) would land on whoever runs next."""
    import requests
    from airflow.providers.http.hooks.http import HttpHook

    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook

    address = urlsplit(emulator.base_url)
    os.environ["AIRFLOW_CONN_HUBSPOT_DEFAULT"] = emulator.connection_json()
    os.environ["AIRFLOW_CONN_HUBSPOT_HTTP"] = json.dumps(
        {
            "conn_type": "http",
            "host": address.hostname,
            "port": address.port,
            "schema": "http",
            "extra": {"Authorization": f"Bearer {emulator.token}"},
        }
    )
    hook = HubSpotHook()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {emulator.token}"
    url = emulator.base_url + _import_path(import_id)
    http_hook = HttpHook(method="GET", http_conn_id="hubspot_http")
    endpoint = _import_path(import_id)

    def get_import() -> object:
        return hook.get_import(import_id)

    floor = {
        "HubSpotHook.get_import": get_import,
        "requests.Session (floor)": lambda: session.get(url).json(),
    }
    http = {"HubSpotHook.get_import": get_import, "HttpHook.run": lambda: http_hook.run(endpoint).json()}
    for call in [*floor.values(), *http.values()]:  # connect, fill caches
        call()
    return floor, http


def first_calls(emulator: EmulatorProcess, import_id: int, repeats: int) -> list[dict[str, float]]:
    """Each repeat in a fresh interpreter: (hook's first call) and (a fresh Session's first call)."""
    results = []
    for number in range(repeats):
        order = "hook-first" if number % 2 == 0 else "floor-first"
        env = {**os.environ, "AIRFLOW_CONN_HUBSPOT_DEFAULT": emulator.connection_json()}
        args = [emulator.base_url + _import_path(import_id), emulator.token, str(import_id), order]
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.first_call", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def measure(emulator: EmulatorProcess, plan: Plan) -> tuple[list[Row], dict[str, Any]]:
    (import_id,) = emulator.add_imports([["PROCESSING"]])
    floor_pair, http_pair = _contenders(emulator, import_id)
    cpu_before, requests_before = emulator.cpu_seconds(), emulator.counts()["total"]
    seconds = interleaved_rounds(floor_pair, plan.rounds, plan.calls_per_round)
    emulator_cpu = emulator.cpu_seconds() - cpu_before
    served = emulator.counts()["total"] - requests_before
    hook_s, floor_s = (seconds[name] for name in floor_pair)
    hook_ratio = median_ratio(hook_s, floor_s)
    http_seconds = interleaved_rounds(http_pair, plan.http_rounds, plan.calls_per_round)
    hook_s2, http_s = (http_seconds[name] for name in http_pair)
    http_ratio = median_ratio(http_s, hook_s2)
    per_call_floor = median(floor_s) / plan.calls_per_round
    firsts = first_calls(emulator, import_id, plan.first_call_repeats)
    first_ratio = median([run["hook"] / run["floor"] for run in firsts])
    calls = plan.rounds * plan.calls_per_round
    details = {
        "calls_per_contender": calls,
        "rounds": plan.rounds,
        "calls_per_round": plan.calls_per_round,
        "median_round_ratio_hook_to_floor": round(hook_ratio, 4),
        "median_round_ratio_httphook_to_hook": round(http_ratio, 4),
        "per_round_seconds": {name: [round(s, 5) for s in values] for name, values in seconds.items()},
        "httphook_rounds_seconds": {
            name: [round(s, 5) for s in values] for name, values in http_seconds.items()
        },
        "first_call_runs_seconds": firsts,
        "median_floor_call_ms": round(per_call_floor * 1000, 3),
    }
    drive = {
        "sequential_calls_per_second": round(1 / per_call_floor),
        "emulator_cpu_ms_per_request": round(emulator_cpu / served * 1000, 4),
    }
    rows = [
        Row(
            "1a call overhead: get_import vs bare requests (median of rounds)",
            f"{hook_ratio:.3f}x ({calls} calls each, {plan.rounds} rounds, turns of 10)",
            f"<= {HOOK_GOAL:.2f}x",
            hook_ratio <= HOOK_GOAL,
            quick_fail=hook_ratio > HOOK_GOAL + QUICK_MARGIN,
            details=details,
        ),
        Row(
            "1b call overhead: HttpHook.run vs get_import",
            f"HttpHook {http_ratio:.2f}x slower ({plan.http_rounds} rounds of {plan.calls_per_round})",
            "> 1.00x (hook faster)",
            http_ratio > 1.0,
            quick_fail=http_ratio <= 1.0,
        ),
        Row(
            "1c first call: new hook (env conn lookup, session) vs new Session",
            f"{first_ratio:.2f}x (median of {_fresh(len(firsts))})",
            "report only",
            None,
        ),
    ]
    return rows, drive
