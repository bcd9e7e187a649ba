"""Import a SQL table into HubSpot contacts: the query's rows staged as CSV parts, each imported once.

Runs with no setup against Airflow's default ``sqlite_default`` connection (a SQLite file in the
temporary directory): the first task fills a sample table there. Point ``conn_id`` at your
warehouse (any connection whose hook is a DbApiHook) and ``sql`` at your table for real use;
``hubspot_default`` is the HubSpot connection (type ``hubspot``, access token in the password).
"""

from __future__ import annotations

from contextlib import closing
from datetime import datetime

from airflow_provider_hubspot_imports.transfers import SqlToHubSpotImportOperator

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.11
    from airflow import DAG  # type: ignore[no-redef,attr-defined]
    from airflow.decorators import task  # type: ignore[no-redef]

with DAG(
    "example_hubspot_sql_transfer",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"rows": 2500},
    tags=["example", "hubspot"],
):

    @task
    def fill_sample_table(rows: int | str) -> int:
        """Stand-in for a warehouse table: `rows` contacts in sqlite_default."""
        rows = int(rows)  # rendered from the params as text
        from airflow.providers.sqlite.hooks.sqlite import SqliteHook

        with closing(SqliteHook(sqlite_conn_id="sqlite_default").get_conn()) as db:
            db.execute("DROP TABLE IF EXISTS sample_contacts")
            db.execute(
                "CREATE TABLE sample_contacts (id INTEGER PRIMARY KEY, email TEXT, first TEXT, last TEXT)"
            )
            db.executemany(
                "INSERT INTO sample_contacts VALUES (?, ?, ?, ?)",
                ((n, f"person{n}@example.com", f"First{n}", f"Last{n}") for n in range(1, rows + 1)),
            )
            db.commit()
        return rows

    to_hubspot = SqlToHubSpotImportOperator(
        task_id="contacts_to_hubspot",
        conn_id="sqlite_default",
        sql="SELECT email, first, last FROM sample_contacts ORDER BY id",
        object_type="contacts",
        properties={"first": "firstname", "last": "lastname"},  # SQL column -> HubSpot property
        operation="UPSERT",
        id_property="email",  # HubSpot matches existing contacts by email
        import_name="Sample contacts {{ ds }}",
        rows_per_file=1000,  # three parts of at most 1,000 rows, at most three imports at once
        max_error_ratio=0.05,  # more than 5% bad rows over all parts: the task fails, naming them
        poke_interval=10,
    )

    fill_sample_table("{{ params.rows }}") >> to_hubspot
