"""Child of figure 3: run gate DAGs with ``dag.test()`` in a throw-away AIRFLOW_HOME.

The parent sets AIRFLOW_HOME, AIRFLOW__CORE__DAGS_FOLDER, the SQLite URL and the HubSpot
connection; argv[1] is a JSON list of [dag_id, import_id]. Prints each run's state and duration.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(runs: list[tuple[str, int]]) -> None:
    from airflow.utils import db

    from airflow_provider_hubspot_imports.testing.dagruns import load_dagbag

    db.initdb()
    bag = load_dagbag(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise SystemExit(f"gate DAG import errors: {bag.import_errors}")
    results = []
    for dag_id, import_id in runs:
        started = time.monotonic()
        dag_run = bag.get_dag(dag_id).test(run_conf={"import_id": str(import_id)})
        state = str(getattr(dag_run.state, "value", dag_run.state))
        results.append({"dag_id": dag_id, "state": state, "seconds": time.monotonic() - started})
    print("RESULT " + json.dumps(results), flush=True)


if __name__ == "__main__":
    main([(str(dag_id), int(import_id)) for dag_id, import_id in json.loads(sys.argv[1])])
