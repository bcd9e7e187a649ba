"""Child of figure 1c: in a fresh interpreter, time a new hook's first call and a new Session's first call.

Both modules are imported and one throw-away GET warms `requests` itself first, so the two first
calls differ only by what each client does for its own first call: the hook's connection lookup
(from ``AIRFLOW_CONN_HUBSPOT_DEFAULT``), settings validation and session set-up.

Outside a task, Airflow 3.3's connection lookup imports ``airflow.sdk.execution_time.supervisor``
on first use (about 20 ms, once per process, whatever hook asks); a task process has its own way to
look connections up, so that import is done here beforehand and is not charged to the hook.
"""

from __future__ import annotations

import json
import sys
import time

import airflow.sdk.execution_time.supervisor  # noqa: F401  (see above)
import requests

from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook


def main(url: str, token: str, import_id: int, order: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    requests.get(url, headers=headers, timeout=30).json()

    def hook_first() -> float:
        started = time.perf_counter()
        HubSpotHook().get_import(import_id)
        return time.perf_counter() - started

    def floor_first() -> float:
        started = time.perf_counter()
        session = requests.Session()
        session.headers.update(headers)
        session.get(url).json()
        return time.perf_counter() - started

    if order == "hook-first":
        hook, floor = hook_first(), floor_first()
    else:
        floor, hook = floor_first(), hook_first()
    print(json.dumps({"hook": hook, "floor": floor}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
