"""SqlToHubSpotImportOperator from PostgreSQL (a throw-away PostgreSQL 15 cluster this module starts
and stops): PostgreSQL's types written as HubSpot reads them, rows streamed through a server-side
cursor, and a connection that drops mid-stream."""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from postgres_cluster import PostgresCluster, missing_binaries
from transfer_support import context_for, task_instance

from airflow_provider_hubspot_imports.testing import HubSpotEmulator
from airflow_provider_hubspot_imports.transfers import SqlToHubSpotImportOperator
from airflow_provider_hubspot_imports.transfers.source import CURSOR_NAME

CONN_ID = "transfer_postgres"

pytestmark = pytest.mark.skipif(missing_binaries() is not None, reason=str(missing_binaries()))


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    with PostgresCluster() as pg:
        pg.psql(
            "SET ROLE transfer;"
            "CREATE TABLE people (id int PRIMARY KEY, email text, name text, score numeric(10,2),"
            " active boolean, born date, seen timestamptz, note text);"
            "INSERT INTO people SELECT n, 'p' || n || '@example.com', 'N' || n, n / 4.0, n % 2 = 0,"
            " date '2000-01-01' + n, timestamptz '2026-01-01 00:00:00+00' + n * interval '1 minute',"
            " CASE WHEN n % 3 = 0 THEN NULL ELSE 'says \"hi\", then' || chr(10) || 'leaves' END"
            " FROM generate_series(1, 30000) n;"
            # Every type the server writes itself, with the values that differ most between writers.
            "CREATE TABLE kinds (b boolean, i2 smallint, i4 int, i8 bigint, t text, v varchar(20),"
            " c char(4), u uuid, n numeric, d date, ts timestamp, tz timestamptz);"
            "INSERT INTO kinds VALUES"
            " (true, -2, 0, 9007199254740993, '', 'a,b', 'ab', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',"
            "  -12345678901234567890.1200, '0999-12-31', '2026-03-04 05:06:07.999999',"
            "  '2026-03-04 23:30:00.5-02'),"
            " (false, NULL, NULL, NULL, 'Zoë \"q\"' || chr(13) || chr(10) || 'x', NULL, NULL, NULL,"
            "  0.000, '2026-12-31', '1999-01-01 00:00:00', '2026-01-01 00:00:00+00'),"
            " (NULL, 1, 1, 1, NULL, '', '', NULL, 100.5000, NULL, NULL, NULL);"
            # A query that slows down every 100 rows while `pace` says so, for a drop to land mid-stream.
            "CREATE TABLE pace (seconds float); INSERT INTO pace VALUES (0);"
            "CREATE FUNCTION slow(n int) RETURNS int LANGUAGE sql VOLATILE AS"
            " $$ SELECT pg_sleep((SELECT seconds FROM pace)); SELECT n $$;"
        )
        yield pg


@pytest.fixture
def source(cluster: PostgresCluster, monkeypatch: pytest.MonkeyPatch) -> PostgresCluster:
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", cluster.connection_json())
    return cluster


def operator(tmp_path: Path, sql: str, **kwargs: Any) -> SqlToHubSpotImportOperator:
    arguments: dict[str, Any] = {
        "task_id": "people_to_hubspot",
        "sql": sql,
        "conn_id": CONN_ID,
        "object_type": "contacts",
        "id_property": "email",
        "poke_interval": 0.05,
        "staging_path": str(tmp_path / "staging"),
        **kwargs,
    }
    return SqlToHubSpotImportOperator(**arguments)


def run(op: SqlToHubSpotImportOperator, run_id: str, try_number: int = 1) -> Any:
    return op.execute(context_for(task_instance("pg_dag", run_id, op.task_id, try_number)))  # type: ignore[arg-type]


@pytest.mark.parametrize("date_format", ["YEAR_MONTH_DAY", "MONTH_DAY_YEAR", "DAY_MONTH_YEAR"])
def test_the_server_writes_every_type_as_the_row_path_does(
    source: PostgresCluster, tmp_path: Path, date_format
):
    """PostgreSQL's COPY output (every column formatted by the server) is byte for byte what the
    row-by-row path writes from the same rows."""
    from airflow_provider_hubspot_imports.transfers.source import db_hook
    from airflow_provider_hubspot_imports.transfers.staging import Staging

    op = operator(
        tmp_path, "SELECT * FROM kinds", operation="CREATE", id_property=None, date_format=date_format
    )
    hook = db_hook(CONN_ID, None)
    by_copy, by_rows = Staging(tmp_path / "copy"), Staging(tmp_path / "rows")
    by_copy.prepare()
    by_rows.prepare()

    copied = op._stage_by_copy(hook, by_copy, None)
    fetched = op._stage_rows(hook, by_rows, None)

    assert copied is not None and copied.header == fetched.header
    assert [file.rows for file in copied.files] == [file.rows for file in fetched.files] == [3]
    data = (tmp_path / "copy" / "part-00001.csv").read_bytes()
    lines = list(csv.reader(io.StringIO(data.decode(), newline="")))
    from_rows = (tmp_path / "rows" / "part-00001.csv").read_bytes()
    # The same records; only an empty text differs in spelling: "" from the server, nothing from
    # Python (both read as empty).
    assert lines == list(csv.reader(io.StringIO(from_rows.decode(), newline="")))
    assert data.count(b"\r\n") == from_rows.count(b"\r\n") == 5  # 4 records, 1 CRLF inside a field
    assert lines[1][:9] == [
        "true", "-2", "0", "9007199254740993", "", "a,b", "ab  ", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "-12345678901234567890.12",
    ]  # fmt: skip
    dates = {
        "YEAR_MONTH_DAY": ["0999-12-31", "2026-03-04 05:06:07", "2026-03-05 01:30:00"],
        "MONTH_DAY_YEAR": ["12/31/0999", "03/04/2026 05:06:07", "03/05/2026 01:30:00"],
        "DAY_MONTH_YEAR": ["31/12/0999", "04/03/2026 05:06:07", "05/03/2026 01:30:00"],
    }
    assert lines[1][9:] == dates[date_format]  # fractions cut, not rounded; timestamptz in UTC
    assert lines[2][8] == "0" and lines[3][8] == "100.5"
    assert lines[3][0] == "" and lines[2][4] == 'Zoë "q"\r\nx'


def test_postgres_types_are_written_as_hubspot_reads_them(
    hubspot_connection: HubSpotEmulator, source: PostgresCluster, tmp_path: Path, logged
):
    hubspot_connection.set_start_lifecycle([("DONE",)])
    op = operator(
        tmp_path,
        "SELECT email, name AS firstname, score, active, born, seen, note FROM people "
        "WHERE id <= %(last)s ORDER BY id",
        parameters={"last": 3},  # bound on the client: COPY takes no parameters
        preflight="off",  # made-up properties: this test is about the file's values
        properties={"score": "hs_score", "born": "date_of_birth", "seen": "last_seen", "active": "is_active"},
        date_format="DAY_MONTH_YEAR",
        remove_staged_files=False,
    )

    summary = run(op, "manual__types")

    assert "PostgreSQL writes the CSV (COPY ... TO STDOUT)" in logged()

    staged = Path(summary["staging"].removeprefix("file://")) / "part-00001.csv"
    data = staged.read_bytes()
    assert data.count(b"\r\n") == 4  # records end in CRLF; a note's own line break stays LF
    assert list(csv.reader(io.StringIO(data.decode("utf-8"), newline=""))) == [
        ["email", "firstname", "hs_score", "is_active", "date_of_birth", "last_seen", "note"],
        [
            "p1@example.com",
            "N1",
            "0.25",
            "false",
            "02/01/2000",
            "01/01/2026 00:01:00",
            'says "hi", then\nleaves',
        ],
        [
            "p2@example.com",
            "N2",
            "0.5",
            "true",
            "03/01/2000",
            "01/01/2026 00:02:00",
            'says "hi", then\nleaves',
        ],
        ["p3@example.com", "N3", "0.75", "false", "04/01/2000", "01/01/2026 00:03:00", ""],
    ]
    (started,) = hubspot_connection.started_imports()
    assert started["import_request"]["dateFormat"] == "DAY_MONTH_YEAR"
    assert started["uploads"][0].size == len(data)


@pytest.mark.parametrize(
    "extra_column",
    [
        pytest.param("", id="server-writes-the-csv"),
        # A float column keeps the row-by-row path (a server-side cursor, formatted in Python).
        pytest.param(", score::float8 AS loyalty_points", id="rows-through-a-named-cursor"),
    ],
)
def test_a_connection_dropped_mid_stream_imports_nothing_and_the_retry_stages_again(
    hubspot_connection: HubSpotEmulator, source: PostgresCluster, tmp_path: Path, logged, extra_column: str
):
    hubspot_connection.set_start_lifecycle([("DONE",)])
    # No ORDER BY: a sort would run the slow filter on every row before the first one is sent.
    sql = f"SELECT email, name AS firstname{extra_column} FROM people WHERE slow(id) > 0 AND id <= 12000"
    sql = sql.replace("slow(id) > 0", "(CASE WHEN id % 100 = 0 THEN slow(id) ELSE id END) > 0")
    source.psql("UPDATE pace SET seconds = 0.05")  # 6 s for the whole query: the drop lands well before
    staging_root = tmp_path / "staging"
    killed: list[list[str]] = []

    def drop_the_connection_once_part_2_is_written() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if list(staging_root.glob("*/part-00002.csv")):
                killed.extend(
                    source.psql(
                        "SELECT pg_terminate_backend(pid), query FROM pg_stat_activity "
                        "WHERE usename = 'transfer'"
                    )
                )
                return
            time.sleep(0.01)

    dropper = threading.Thread(target=drop_the_connection_once_part_2_is_written)
    dropper.start()
    try:
        with pytest.raises(Exception, match=r"terminat|closed"):
            run(operator(tmp_path, sql, rows_per_file=2000, batch_rows=100), "manual__drop")
    finally:
        dropper.join()

    # The transfer's one connection, ended mid-stream: in COPY, or between two FETCHes of the cursor.
    assert len(killed) == 1 and killed[0][0] == "t", killed
    streaming = "COPY (SELECT" if not extra_column else f'FETCH FORWARD 100 FROM "{CURSOR_NAME}"'
    assert killed[0][1].startswith(streaming), killed
    assert hubspot_connection.started_imports() == []  # nothing imported from an incomplete staging
    (folder,) = staging_root.iterdir()
    assert not (folder / "manifest.json").exists()

    source.psql("UPDATE pace SET seconds = 0")
    summary = run(operator(tmp_path, sql, rows_per_file=2000, batch_rows=100), "manual__drop", try_number=2)

    assert logged().count("Staging the query's rows in") == 2  # the retry queried again
    started = hubspot_connection.started_imports()
    assert [(s["uploads"][0].filename, s["uploads"][0].lines - 1) for s in started] == [
        (f"part-{n:05d}.csv", 2000) for n in range(1, 7)
    ]
    assert summary["rows_sent"] == 12000


def test_rows_stream_through_a_named_cursor(source: PostgresCluster):
    """The server keeps the result: the client holds one batch at a time (see the benchmark's
    memory figure for the whole transfer)."""
    from airflow_provider_hubspot_imports.transfers.source import db_hook, stream_rows

    hook = db_hook(CONN_ID, None)
    columns, batches = stream_rows(hook, "SELECT id, email FROM people ORDER BY id", None, batch_rows=1000)
    first = next(batches)
    activity = source.psql(
        "SELECT query FROM pg_stat_activity WHERE usename = 'transfer' AND state = 'idle in transaction'"
    )
    sizes = [len(first)] + [len(batch) for batch in batches]

    assert columns == ["id", "email"]
    # The last statement of the session: a FETCH from the named (server-side) cursor.
    assert activity and activity[0][0] == f'FETCH FORWARD 1000 FROM "{CURSOR_NAME}"', activity
    assert sizes == [1000] * 30


def test_lineage_from_the_query_tables_to_the_object_type(
    hubspot_connection: HubSpotEmulator, source: PostgresCluster, tmp_path: Path
):
    op = operator(
        tmp_path,
        "SELECT p.email, p.name AS first FROM people p WHERE p.id > 3",
        properties={"first": "firstname"},
    )

    lineage = op.get_openlineage_facets_on_start()

    table = (f"postgres://127.0.0.1:{source.port}", "transfer.public.people")
    assert [(ds.namespace, ds.name) for ds in lineage.inputs] == [table]
    (output,) = lineage.outputs
    assert (output.namespace, output.name) == (f"hubspot://127.0.0.1:{hubspot_connection.port}", "contacts")
    fields = output.facets["columnLineage"].fields
    assert {
        prop: [(f.namespace, f.name, f.field) for f in field.inputFields] for prop, field in fields.items()
    } == {
        "email": [(*table, "email")],
        "firstname": [(*table, "name")],
    }
    assert "sql" in lineage.job_facets  # the query, as common.sql operators report it
