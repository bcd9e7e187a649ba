"""The query's rows, streamed from any ``DbApiHook`` connection: never the whole result in memory.

PostgreSQL (psycopg 2 or 3) gets a server-side (named) cursor, so the server sends rows as they are
fetched; other databases get ``fetchmany`` on an ordinary cursor, which their drivers stream
(SQLite) or buffer as they do for every client.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing
from typing import Any

from airflow_provider_hubspot_imports.errors import HubSpotInputError

BATCH_ROWS = 10_000
CURSOR_NAME = "hubspot_transfer"


def db_hook(conn_id: str, hook_params: Mapping[str, Any] | None) -> Any:
    """The connection's hook, as ``SQLExecuteQueryOperator`` gets it; refused unless a DbApiHook."""
    from airflow_provider_hubspot_imports._compat import BaseHook

    try:
        from airflow.providers.common.sql.hooks.sql import DbApiHook
    except ImportError as error:
        raise HubSpotInputError(
            "SqlToHubSpotImportOperator needs apache-airflow-providers-common-sql: install "
            "airflow-provider-hubspot-imports[sql] and your database's provider."
        ) from error
    hook = BaseHook.get_connection(conn_id).get_hook(hook_params=dict(hook_params or {}))
    if not isinstance(hook, DbApiHook):
        raise HubSpotInputError(
            f"Connection {conn_id!r} has hook {type(hook).__name__}, which is not a DbApiHook: pass "
            f"the conn_id of a SQL database connection (postgres, sqlite, snowflake, ...)."
        )
    return hook


def stream_rows(
    hook: Any, sql: str, parameters: Any, batch_rows: int = BATCH_ROWS
) -> tuple[list[str], Iterator[Sequence[Sequence[Any]]]]:
    """(the result's column names, an iterator of row batches). The connection stays open until
    the iterator is exhausted or closed."""
    conn = hook.get_conn()
    try:
        cursor = _cursor(conn)
        if parameters:
            cursor.execute(sql, parameters)
        else:
            cursor.execute(sql)
        first = list(cursor.fetchmany(batch_rows))  # a named cursor describes the result after a fetch
        if cursor.description is None:
            raise HubSpotInputError(
                "The query returned no result set (not a SELECT?). Pass one statement that selects rows."
            )
        columns = [str(column[0]) for column in cursor.description]
    except BaseException:
        conn.close()
        raise
    return columns, _batches(conn, cursor, first, batch_rows)


def _batches(conn: Any, cursor: Any, first: list[Any], batch_rows: int) -> Iterator[Sequence[Sequence[Any]]]:
    with closing(conn):
        try:
            batch = first
            while batch:
                yield batch
                batch = cursor.fetchmany(batch_rows)
        finally:
            cursor.close()


def is_postgres(conn: Any) -> bool:
    """A psycopg 2 or 3 connection."""
    return type(conn).__module__.split(".")[0] in ("psycopg2", "psycopg")


def _cursor(conn: Any) -> Any:
    if is_postgres(conn):
        return conn.cursor(name=CURSOR_NAME)  # server-side: rows arrive as they are fetched
    return conn.cursor()
