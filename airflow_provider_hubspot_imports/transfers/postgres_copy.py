"""PostgreSQL's own CSV writer for the staging: ``COPY (query) TO STDOUT (FORMAT csv)``, with every
column written by the server the way `formatting` writes it (dates in the ``dateFormat``,
datetimes in UTC, booleans ``true``/``false``, decimals without trailing zeros).

Used when the query's columns are all of the types below and the server has ``trim_scale``
(PostgreSQL 13+); any other column type (floats, JSON, arrays, ...) keeps the row-by-row path,
whose formatting is the reference. psycopg 2 (``copy_expert``) and psycopg 3 (``cursor.copy``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_provider_hubspot_imports.transfers.formatting import PG_DATE_PATTERNS, PG_TIME_PATTERN
from airflow_provider_hubspot_imports.transfers.source import is_postgres

COPY_BUFFER_BYTES = 1 << 16
MIN_SERVER_VERSION = 130000  # trim_scale
# The column types the server writes itself, by type OID.
_AS_TEXT = {
    16: "bool",
    20: "int8",
    21: "int2",
    23: "int4",
    25: "text",
    1043: "varchar",
    1042: "bpchar",
    19: "name",
    2950: "uuid",
    1700: "numeric",
    1082: "date",
    1114: "timestamp",
    1184: "timestamptz",
}


@dataclass(frozen=True)
class CopyPlan:
    columns: list[str]
    copy_sql: str


def copy_plan(conn: Any, sql: str, parameters: Any, date_format: str) -> CopyPlan | None:
    """The COPY statement for `sql`, or None when the server cannot write every column itself."""
    if not is_postgres(conn) or _server_version(conn) < MIN_SERVER_VERSION:
        return None
    query = _bound(conn, sql.strip().rstrip(";"), parameters)
    cursor = conn.cursor()
    try:
        cursor.execute(f"SELECT * FROM ({query}) AS hubspot_query LIMIT 0")
        description = cursor.description
    except Exception:  # not wrappable as a subquery: the row-by-row path runs it as written
        conn.rollback()
        return None
    finally:
        cursor.close()
    conn.rollback()
    if not description:
        return None
    columns = [str(column[0]) for column in description]
    kinds = [_AS_TEXT.get(int(column[1])) for column in description]
    types = [kind for kind in kinds if kind is not None]
    if len(types) != len(kinds):
        return None
    aliases = [f"c{index}" for index in range(len(columns))]
    expressions = [
        _expression(f"hubspot_query.{alias}", kind, date_format)
        for alias, kind in zip(aliases, types, strict=True)
    ]
    copy_sql = (
        f"COPY (SELECT {', '.join(expressions)} FROM ({query}) AS hubspot_query({', '.join(aliases)})) "
        "TO STDOUT (FORMAT csv)"
    )
    return CopyPlan(columns, copy_sql)


def copy_csv(conn: Any, plan: CopyPlan, write: Callable[[bytes], None]) -> None:
    """Run the COPY, handing its CSV output to `write` chunk by chunk."""
    cursor = conn.cursor()
    sink = _Sink(write)
    try:
        cursor.execute("SET DateStyle = 'ISO, YMD'")  # for the ::text of dates and timestamps
        if hasattr(cursor, "copy_expert"):  # psycopg 2
            cursor.copy_expert(plan.copy_sql, sink, size=COPY_BUFFER_BYTES)
        else:  # psycopg 3: one row per item; gathered here, without a call per row
            pending, size = sink.pending, 0
            with cursor.copy(plan.copy_sql) as copy:
                for data in copy:
                    pending.append(bytes(data))
                    size += len(data)
                    if size >= COPY_BUFFER_BYTES:
                        sink.flush()
                        size = 0
        sink.flush()
    finally:
        cursor.close()


def _expression(column: str, kind: str, date_format: str) -> str:
    date = PG_DATE_PATTERNS[date_format]
    if date_format == "YEAR_MONTH_DAY" and kind in ("date", "timestamp", "timestamptz"):
        # ISO text (DateStyle ISO, set by copy_csv) is this format, and cheaper than to_char.
        if kind == "date":
            return f"{column}::text"
        utc = f"{column} AT TIME ZONE 'UTC'" if kind == "timestamptz" else column
        return f"date_trunc('second', {utc})::text"
    if kind == "bool":
        return f"CASE WHEN {column} THEN 'true' WHEN NOT {column} THEN 'false' END"
    if kind == "date":
        return f"to_char({column}, '{date}')"
    if kind == "timestamp":
        return f"to_char({column}, '{date}{PG_TIME_PATTERN}')"
    if kind == "timestamptz":
        return f"to_char({column} AT TIME ZONE 'UTC', '{date}{PG_TIME_PATTERN}')"
    if kind == "numeric":
        return f"trim_scale({column})"
    return column


def _server_version(conn: Any) -> int:
    version = getattr(conn, "server_version", None)
    if version is None:
        version = getattr(getattr(conn, "info", None), "server_version", 0)
    return int(version or 0)


def _bound(conn: Any, sql: str, parameters: Any) -> str:
    """`sql` with its parameters bound on the client, as COPY takes no parameters."""
    if not parameters:
        return sql
    if type(conn).__module__.split(".")[0] == "psycopg2":
        cursor = conn.cursor()
        try:
            bound = cursor.mogrify(sql, parameters)
        finally:
            cursor.close()
    else:  # psycopg 3, already imported by the connection: its client-side binding cursor
        driver = sys.modules[type(conn).__module__.split(".")[0]]
        bound = driver.ClientCursor(conn).mogrify(sql, parameters)
    return bound.decode() if isinstance(bound, bytes) else str(bound)


class _Sink:
    """Where COPY's rows arrive, one at a time (a file object for psycopg 2's ``copy_expert``):
    they are passed on in blocks of about `COPY_BUFFER_BYTES`."""

    def __init__(self, write: Callable[[bytes], None]) -> None:
        self.write_bytes = write
        self.pending: list[bytes] = []
        self.size = 0

    def write(self, data: bytes | str | memoryview) -> int:
        chunk = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        self.pending.append(chunk)
        self.size += len(chunk)
        if self.size >= COPY_BUFFER_BYTES:
            self.flush()
        return len(chunk)

    def flush(self) -> None:
        if self.pending:
            self.write_bytes(b"".join(self.pending))
            self.pending.clear()
            self.size = 0
