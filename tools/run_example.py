"""Run `example_hubspot_import_gate` end to end against the local emulator and print the final record.

Called by `python3 tools/dev.py example` inside the project's virtual environment. Everything lives
in `.airflow-dev/` (AIRFLOW_HOME with a SQLite database); delete it to start afresh.

`--home DIR --dags-folder DIR` run it elsewhere: `tools/release_check.py` runs it on a copy of the
example DAG, with the package installed from the wheel, away from the checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DAG_ID = "example_hubspot_import_gate"


def configure_airflow(home: Path, dags: Path) -> None:
    """Point Airflow at `home` (SQLite) and `dags`; before anything imports airflow."""
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS"] = "False"
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home / 'airflow.db'}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Run example_hubspot_import_gate against the emulator.")
    parser.add_argument("--home", type=Path, default=REPO / ".airflow-dev", help="AIRFLOW_HOME to use")
    parser.add_argument("--dags-folder", type=Path, default=REPO / "example_dags", help="the DAG's folder")
    args = parser.parse_args(argv)
    home, dags = args.home.resolve(), args.dags_folder.resolve()
    configure_airflow(home, dags)
    home.mkdir(exist_ok=True)
    from airflow.utils import db

    from airflow_provider_hubspot_imports.testing import HubSpotEmulator
    from airflow_provider_hubspot_imports.testing.dagruns import load_dagbag, xcom_return_value

    print(f"[example] Airflow home {home}: migrating the SQLite database", flush=True)
    db.initdb()
    bag = load_dagbag(dags)
    if bag.import_errors:
        print(f"[example] DAG import errors: {bag.import_errors}", file=sys.stderr)
        return 1
    with HubSpotEmulator() as hubspot:
        import_id = hubspot.add_import(
            lifecycle=[("STARTED", 1), ("PROCESSING", 1), ("DONE",)],
            counters={"TOTAL_ROWS": 1200, "CREATED_OBJECTS": 1150, "UPDATED_OBJECTS": 48, "ERRORS": 2},
        )
        os.environ["AIRFLOW_CONN_HUBSPOT_DEFAULT"] = hubspot.connection_json()
        print(f"[example] emulator on {hubspot.base_url}; import {import_id}: STARTED -> PROCESSING -> DONE")
        print(
            f"[example] running {DAG_ID} with dag.test() (the sensor reschedules between pokes)", flush=True
        )
        dag_run = bag.get_dag(DAG_ID).test(run_conf={"import_id": str(import_id)})
        state = str(getattr(dag_run.state, "value", dag_run.state))
        polls = len(hubspot.requests(import_id))
    if state != "success":
        print(f"[example] the DAG run ended {state}", file=sys.stderr)
        return 1
    record = xcom_return_value(DAG_ID, dag_run.run_id, "wait_for_import")
    print(f"[example] {DAG_ID} succeeded after {polls} polls. Final import record (XCom of wait_for_import):")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
