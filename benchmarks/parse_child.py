"""Children of figure 2, each run in a fresh interpreter after ``import airflow.sdk``.

``import``: seconds that importing the sensor and operator modules adds, and which heavy modules
the sensor module pulled in. ``dagbag FOLDER``: seconds to parse the folder's DAG file with a DagBag.
"""

from __future__ import annotations

import json
import sys
import time

import airflow.sdk  # noqa: F401  (the baseline every DAG file pays anyway)

MUST_NOT_LOAD = ("requests", "aiohttp", "airflow_provider_hubspot_imports.hooks.hubspot")


def import_cost() -> dict[str, object]:
    already = [name for name in MUST_NOT_LOAD if name in sys.modules]
    started = time.perf_counter()
    import airflow_provider_hubspot_imports.sensors.imports

    sensor_done = time.perf_counter()
    loaded = [name for name in MUST_NOT_LOAD if name in sys.modules and name not in already]
    import airflow_provider_hubspot_imports.operators.imports  # noqa: F401

    finished = time.perf_counter()
    return {
        "seconds": finished - started,
        "sensor_seconds": sensor_done - started,
        "loaded_by_sensor": loaded,
        "loaded_before": already,
    }


def dagbag_cost(folder: str) -> dict[str, object]:
    from airflow_provider_hubspot_imports.testing.dagruns import load_dagbag

    started = time.perf_counter()
    bag = load_dagbag(folder)
    seconds = time.perf_counter() - started
    tasks = sum(len(dag.tasks) for dag in bag.dags.values())
    return {"seconds": seconds, "tasks": tasks, "errors": {k: str(v) for k, v in bag.import_errors.items()}}


if __name__ == "__main__":
    result = import_cost() if sys.argv[1] == "import" else dagbag_cost(sys.argv[2])
    print(json.dumps(result))
