"""`SqlToHubSpotImportOperator`: a query's rows staged as CSV files, each imported into HubSpot once."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from airflow_provider_hubspot_imports._compat import BaseOperator
from airflow_provider_hubspot_imports.core.endings import Ending, Rules, decide
from airflow_provider_hubspot_imports.core.quality import QualityGate
from airflow_provider_hubspot_imports.models import FAILURE_STATES, SUCCESS_STATES
from airflow_provider_hubspot_imports.sensors.imports import _default_deferrable
from airflow_provider_hubspot_imports.task_args import positive_seconds
from airflow_provider_hubspot_imports.transfers.csvfiles import MAX_FILE_ROWS, FileLimits
from airflow_provider_hubspot_imports.transfers.formatting import DEFAULT_DATE_FORMAT
from airflow_provider_hubspot_imports.transfers.mapping import ImportMapping, checked_mapping
from airflow_provider_hubspot_imports.transfers.preflight import check_mode
from airflow_provider_hubspot_imports.transfers.source import BATCH_ROWS

if TYPE_CHECKING:
    from airflow_provider_hubspot_imports._compat import Context
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
    from airflow_provider_hubspot_imports.transfers.parts import PartRunner
    from airflow_provider_hubspot_imports.transfers.staging import Manifest, Staging

DEFAULT_TIMEOUT = 60 * 60 * 24 * 7
HUBSPOT_CONCURRENT_IMPORTS = 3  # HubSpot processes at most three imports at once; the rest wait DEFERRED


class SqlToHubSpotImportOperator(BaseOperator):
    """Import the rows of a SQL query into a HubSpot object type: staged as CSV files, split at
    HubSpot's per-file limits, each file started as one import exactly once per task instance.

    The query runs once; its rows stream (a server-side cursor on PostgreSQL, ``fetchmany``
    elsewhere) into part files under `staging_path`, and a manifest written last marks the staging
    complete. A retry with a complete staging does not query again, reconnects to the parts an
    earlier try started, and starts only the others. See docs/transfer.md.

    :param sql: one SELECT statement, or a ``.sql`` file (templated).
    :param conn_id: a connection whose hook is a ``DbApiHook`` (postgres, sqlite, snowflake, ...).
    :param parameters: the query's parameters (templated).
    :param hook_params: extra arguments for the database hook.
    :param object_type: the HubSpot object type: a name (``contacts``) or id (``0-1``, ``2-12345``).
    :param properties: SQL column -> HubSpot property; unmapped columns keep their name (templated).
    :param operation: ``UPSERT`` (default), ``CREATE`` or ``UPDATE``.
    :param id_property: the property HubSpot matches records by (needed by UPSERT and UPDATE), e.g.
        ``email``; ``hs_object_id`` matches record ids.
    :param date_format: HubSpot's ``dateFormat`` sent with every part, and the format every date and
        datetime value is written in (datetimes in UTC): ``YEAR_MONTH_DAY`` (default),
        ``MONTH_DAY_YEAR`` or ``DAY_MONTH_YEAR``.
    :param import_name: the imports' name in HubSpot (templated); each part adds ``part i/n``.
    :param hubspot_conn_id: Airflow connection of type ``hubspot``.
    :param staging_path: a folder or object storage URL (or ObjectStoragePath) for the staged files
        (templated); default: a folder in the worker's temporary directory, which suits one machine.
        Workers that share no disk need object storage so that a retry finds the staging.
    :param rows_per_file: most rows per part file (HubSpot's limit, 1,048,576, by default); a file
        also ends before 512 MiB.
    :param max_active_imports: most parts started and not yet finished at once (default 3, what
        HubSpot processes at once).
    :param remove_staged_files: remove the staging after success (default True).
    :param preflight: check each staged file against its request and the account's schema before
        the first upload (`HubSpotHook.validate_import`): ``"error"`` (default) fails on errors
        without retries, ``"warn"`` logs them, ``"off"`` skips the check. See docs/preflight.md.
    :param wait_for_completion: wait until every part ended and apply the quality gate (default True).
    :param deferrable: wait in the triggerer between checks; defaults to
        ``[operators] default_deferrable``.
    :param poke_interval: seconds between checks of the active parts (default 60).
    :param timeout: seconds to wait for all parts before failing (default one week).
    :param max_error_rows: most error rows allowed, summed over the parts.
    :param max_error_ratio: most error rows / rows, summed over the parts (0 to 1).
    :param failed_rows_destination: a ``.csv`` or ``.jsonl`` path (or ObjectStoragePath) to write
        every part's error rows to, each with its part (templated).
    :param incremental_column: a column whose largest imported value becomes the next run's
        ``watermark`` parameter, advanced only when every part ended DONE within the gate.
    :param batch_rows: rows fetched from the database at a time (default 10,000).
    """

    template_fields: Sequence[str] = (
        "sql",
        "parameters",
        "properties",
        "import_name",
        "staging_path",
        "failed_rows_destination",
    )
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"sql": "sql", "parameters": "json", "properties": "json"}
    ui_color = "#ff7a59"

    def __init__(
        self,
        *,
        sql: str,
        conn_id: str,
        object_type: str,
        parameters: Mapping[str, Any] | Sequence[Any] | None = None,
        hook_params: Mapping[str, Any] | None = None,
        properties: Mapping[str, str] | None = None,
        operation: str = "UPSERT",
        id_property: str | None = None,
        date_format: str = DEFAULT_DATE_FORMAT,
        import_name: str | None = None,
        hubspot_conn_id: str = "hubspot_default",
        staging_path: Any = None,
        rows_per_file: int = MAX_FILE_ROWS,
        max_active_imports: int = HUBSPOT_CONCURRENT_IMPORTS,
        remove_staged_files: bool = True,
        preflight: str = "error",
        wait_for_completion: bool = True,
        deferrable: bool | None = None,
        poke_interval: float | timedelta = 60,
        timeout: float | timedelta = DEFAULT_TIMEOUT,
        max_error_rows: int | None = None,
        max_error_ratio: float | None = None,
        failed_rows_destination: Any = None,
        incremental_column: str | None = None,
        batch_rows: int = BATCH_ROWS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sql = sql
        self.conn_id = conn_id
        self.parameters = parameters
        self.hook_params = hook_params
        self.object_type = object_type
        self.properties = properties
        self.operation = operation
        self.id_property = id_property
        self.date_format = date_format
        checked_mapping(object_type, operation, id_property, properties, date_format)  # at parse time
        self.import_name = import_name
        self.hubspot_conn_id = hubspot_conn_id
        self.staging_path = staging_path
        self.limits = FileLimits(rows=rows_per_file)
        if (
            isinstance(max_active_imports, bool)
            or not isinstance(max_active_imports, int)
            or max_active_imports < 1
        ):
            raise ValueError(
                f"max_active_imports is {max_active_imports!r}; pass a whole number >= 1 (HubSpot "
                f"processes {HUBSPOT_CONCURRENT_IMPORTS} at once; more wait there as DEFERRED)."
            )
        self.max_active_imports = max_active_imports
        self.remove_staged_files = remove_staged_files
        self.preflight = check_mode(preflight)
        self.wait_for_completion = wait_for_completion
        self.deferrable = _default_deferrable() if deferrable is None else deferrable
        self.poke_interval = positive_seconds(poke_interval, "poke_interval")
        self.timeout = positive_seconds(timeout, "timeout")
        self.max_error_rows = max_error_rows
        self.max_error_ratio = max_error_ratio
        self.quality_gate = QualityGate(max_error_rows, max_error_ratio)
        self.failed_rows_destination = failed_rows_destination
        self.incremental_column = incremental_column
        if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
            raise ValueError(f"batch_rows is {batch_rows!r}; pass a whole number >= 1.")
        self.batch_rows = batch_rows
        # What a deferred wait hands its trigger (the start operator's names).
        self.success_states = SUCCESS_STATES
        self.failure_states = FAILURE_STATES
        self.cancel_on_timeout = False
        self.summary: dict[str, Any] | None = None

    # ---- the run --------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any] | None:
        return self._run(context, deadline=time.time() + self.timeout)

    def execute_complete(
        self, context: Context, event: Mapping[str, Any] | None = None, deadline: float | None = None
    ) -> dict[str, Any] | None:
        """Resume after a part's trigger fired: every part is read again and the run goes on."""
        return self._run(context, deadline=deadline if deadline is not None else time.time() + self.timeout)

    def _run(self, context: Context, *, deadline: float) -> dict[str, Any] | None:
        from airflow_provider_hubspot_imports.errors import HubSpotError
        from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
        from airflow_provider_hubspot_imports.waiting import fail_task_if_permanent

        mapping = self._mapping()
        staging = self._staging(context)
        manifest = self._staged(context, staging)
        if manifest.rows == 0:
            self.log.info("The query returned no rows: nothing to import, no HubSpot import was started.")
            self._remove_staging(staging)
            self.summary = self._summary([], staging)
            return self.summary
        hook = HubSpotHook(self.hubspot_conn_id)
        try:
            runner = self._runner(context, hook, staging, manifest, mapping)
            runner.reconnect()
            self._preflight(context, hook, runner)
            self._drive(runner, deadline)
            return self._finish(context, hook, runner, staging, manifest)
        except HubSpotError as error:
            fail_task_if_permanent(error)
            raise
        finally:
            hook.close()

    def _mapping(self) -> ImportMapping:
        return checked_mapping(
            self.object_type, self.operation, self.id_property, self.properties, self.date_format
        )

    def _staging(self, context: Context) -> Staging:
        from airflow_provider_hubspot_imports.core.start_key import task_instance_key
        from airflow_provider_hubspot_imports.transfers.staging import Staging
        from airflow_provider_hubspot_imports.transfers.storage import DEFAULT_STAGING, staging_root

        ti = context["ti"]
        key = task_instance_key(ti.dag_id, ti.run_id, ti.task_id, getattr(ti, "map_index", -1))
        base = staging_root(self.staging_path or DEFAULT_STAGING)
        return Staging.for_task(base, ti.dag_id, ti.task_id, key.digest)

    def _staged(self, context: Context, staging: Staging) -> Manifest:
        """The complete staging an earlier try left, or a new one: the query runs here only."""
        from airflow_provider_hubspot_imports.transfers.staging import StagingError

        manifest = staging.manifest()
        if manifest is not None:
            problem = staging.check_files(manifest)
            if problem is None and manifest.source != self._source_digest():
                problem = "it was made from another query, parameters or mapping"
            if problem is None:
                self.log.info(
                    "Staging %s is complete (%d rows in %d files, from an earlier try): not querying again.",
                    staging,
                    manifest.rows,
                    len(manifest.files),
                )
                return manifest
            if any(staging.started_import(number) for number in range(1, len(manifest.files) + 1)):
                raise StagingError(
                    f"The staging of this task instance has parts imported already, but {problem}. "
                    f"Staging again could import other rows: restore the task's arguments or the "
                    f"files, or clear the folder {staging} (and check HubSpot's imports) before retrying."
                )
            self.log.warning("Staging %s cannot be used (%s): staging again.", staging, problem)
        return self._stage(context, staging)

    def _source_digest(self) -> str:
        """What the staged files are made from: a retry with other arguments stages again."""
        import hashlib
        import json

        made_from = [
            self.sql,
            self.parameters,
            self.properties,
            self.object_type,
            self.id_property,
            self.date_format,
            self.limits.rows,
            self.incremental_column,
        ]
        text = json.dumps(made_from, sort_keys=True, default=repr)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _stage(self, context: Context, staging: Staging) -> Manifest:
        from airflow_provider_hubspot_imports.transfers import watermark
        from airflow_provider_hubspot_imports.transfers.source import db_hook

        staging.prepare()  # unwritable: fails here, before the query and before any import
        parameters = self.parameters
        ti = context["ti"]
        if self.incremental_column:
            mark = watermark.read(ti.dag_id, ti.task_id)
            parameters = watermark.with_watermark(parameters, mark)
            self.log.info("Incremental: the query gets watermark=%r.", mark)
        if isinstance(self.sql, (list, tuple)):
            raise ValueError("sql is a list; pass one SELECT statement (or a .sql file holding one).")
        self.log.info("Staging the query's rows in %s.", staging)
        hook = db_hook(self.conn_id, self.hook_params)
        manifest = None if self.incremental_column else self._stage_by_copy(hook, staging, parameters)
        if manifest is None:
            manifest = self._stage_rows(hook, staging, parameters)
        self.log.info(
            "Staged %d rows in %d file(s) (at most %d rows each): %s",
            manifest.rows,
            len(manifest.files),
            self.limits.rows,
            ", ".join(f"{file.name} ({file.rows} rows, {file.bytes} bytes)" for file in manifest.files)
            or "none",
        )
        return manifest

    def _stage_by_copy(self, hook: Any, staging: Staging, parameters: Any) -> Manifest | None:
        """PostgreSQL writes the CSV itself (COPY); None when it cannot write every column."""
        from airflow_provider_hubspot_imports.transfers.postgres_copy import copy_csv, copy_plan

        conn = hook.get_conn()
        try:
            plan = copy_plan(conn, self.sql, parameters, self.date_format)
            if plan is None:
                return None
            self.log.info("PostgreSQL writes the CSV (COPY ... TO STDOUT); the rows stream from it.")
            header = self._mapping().header(plan.columns)

            def fill(writer: Any) -> None:
                copy_csv(conn, plan, writer.write_csv_records)
                writer.finish_records()

            return staging.stage(header, plan.columns, fill, self.limits, source=self._source_digest())
        finally:
            conn.close()

    def _stage_rows(self, hook: Any, staging: Staging, parameters: Any) -> Manifest:
        """Rows fetched in batches (a server-side cursor on PostgreSQL), formatted here."""
        from airflow_provider_hubspot_imports.transfers import watermark
        from airflow_provider_hubspot_imports.transfers.formatting import row_writer
        from airflow_provider_hubspot_imports.transfers.source import stream_rows

        columns, batches = stream_rows(hook, self.sql, parameters, self.batch_rows)
        try:
            header = self._mapping().header(columns)
            format_row = row_writer(columns, self.date_format)
            highest = (
                watermark.HighestValue(columns, self.incremental_column) if self.incremental_column else None
            )
            watched = highest.watch(batches) if highest is not None else batches

            def fill(writer: Any) -> None:
                for batch in watched:
                    writer.write_rows([format_row(row) for row in batch])

            return staging.stage(
                header,
                columns,
                fill,
                self.limits,
                highest.as_json if highest is not None else None,
                source=self._source_digest(),
            )
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()

    def _runner(
        self,
        context: Context,
        hook: HubSpotHook,
        staging: Staging,
        manifest: Manifest,
        mapping: ImportMapping,
    ) -> PartRunner:
        from airflow_provider_hubspot_imports.transfers.parts import Part, PartRunner, part_key

        ti = context["ti"]
        total = len(manifest.files)
        parts = [
            Part(
                number, file, part_key(ti.dag_id, ti.run_id, ti.task_id, getattr(ti, "map_index", -1), number)
            )
            for number, file in enumerate(manifest.files, start=1)
        ]
        name = self.import_name or f"{ti.dag_id}.{ti.task_id}"

        def request_for(part: Part) -> dict[str, Any]:
            return mapping.import_request(
                f"{name} part {part.number}/{total}", part.file.name, manifest.header
            )

        return PartRunner(
            hook,
            staging,
            parts,
            request_for,
            max_active=self.max_active_imports,
            state_store=context.get("task_state_store"),
            log=self.log,
        )

    def _preflight(self, context: Context, hook: HubSpotHook, runner: PartRunner) -> None:
        """Every part not yet started is checked before the first upload of this try."""
        from airflow_provider_hubspot_imports.transfers.preflight import preflight_parts

        parts = [(runner.request_for(part), runner.staging.file(part.file.name)) for part in runner.waiting]
        preflight_parts(hook, parts, self.preflight, context, self.log)

    def _drive(self, runner: PartRunner, deadline: float) -> None:
        """Start parts as slots free up, poll the active ones, until all ended (or, without
        `wait_for_completion`, all are started). A failed part stops further starts."""
        while True:
            if not any(part.failed for part in runner.parts):
                runner.start_ready()
            if not runner.active and (any(part.failed for part in runner.parts) or not runner.waiting):
                return
            if not self.wait_for_completion and not runner.waiting:
                return
            remaining = deadline - time.time()
            if remaining <= 0:
                self._end(
                    Ending.WAIT_TIMEOUT,
                    f"The transfer did not finish within timeout={self.timeout:g} s: "
                    + ", ".join(f"{part.describe()} is {part.state}" for part in runner.parts),
                )
            if self.deferrable:
                self._defer(runner, deadline)
            time.sleep(min(self.poke_interval, remaining))
            runner.poll()

    def _end(self, ending: Ending, message: str) -> NoReturn:
        """End the task as the one table of endings says (`core.endings`), as every import wait does."""
        from airflow_provider_hubspot_imports.waiting import ended, raise_as

        rules = Rules()  # no soft_fail, never_fail or cancel_on_timeout on the transfer
        raise_as(decide(ending, rules, tries_left=False), ended(Exception(message), ending), rules)

    def _defer(self, runner: PartRunner, deadline: float) -> None:
        """Wait in the triggerer on the oldest active part; any change brings the task back."""
        from airflow_provider_hubspot_imports.waiting import import_trigger

        now = time.time()
        part = runner.active[0]
        self.log.info("Deferring until %s changes (%d part(s) active).", part.describe(), len(runner.active))
        self.defer(
            trigger=import_trigger(
                self, part.import_id, end_time=deadline, first_poll_at=now + self.poke_interval
            ),
            method_name="execute_complete",
            kwargs={"deadline": deadline},
            timeout=timedelta(seconds=max(deadline - now, 0.0)),
        )

    def _finish(
        self, context: Context, hook: HubSpotHook, runner: PartRunner, staging: Staging, manifest: Manifest
    ) -> dict[str, Any]:
        from airflow_provider_hubspot_imports.transfers import outcome, watermark

        self.summary = self._summary(runner.parts, staging)
        if not self.wait_for_completion:
            self.log.info("Started all %d parts; not waiting (wait_for_completion=False).", len(runner.parts))
            return self.summary
        failed_parts = outcome.failed_parts_message(runner.parts)
        breach = (
            None if failed_parts else outcome.gate_breach(hook, self.quality_gate, runner.parts, self.log)
        )
        failure = failed_parts or breach
        if self.failed_rows_destination:
            from airflow_provider_hubspot_imports.exports import write_errors

            written = write_errors(outcome.error_rows_of(hook, runner.parts), self.failed_rows_destination)
            self.log.info("Wrote %d error rows of the parts to %s.", written["rows"], written["destination"])
            self.summary["failed_rows"] = written
        if failure:
            self.log.error(failure)
            self._end(Ending.IMPORT_FAILED if failed_parts else Ending.GATE_BREACHED, failure)
        if self.incremental_column:
            ti = context["ti"]
            watermark.write(ti.dag_id, ti.task_id, manifest.watermark)
            self.log.info("Incremental: the watermark advanced to %r.", manifest.watermark)
            self.summary["watermark"] = manifest.watermark
        self._remove_staging(staging)
        self._outlet_extras(context)
        self.log.info(
            "Imported %d rows in %d part(s): %d created, %d updated, %d error rows.",
            self.summary["rows_sent"],
            len(runner.parts),
            self.summary["created"],
            self.summary["updated"],
            self.summary["errors"],
        )
        return self.summary

    def _summary(self, parts: Sequence[Any], staging: Staging) -> dict[str, Any]:
        from airflow_provider_hubspot_imports.transfers.outcome import summary

        mapping = self._mapping()
        return summary(
            parts, object_type_id=mapping.type_id, operation=mapping.operation, staging=str(staging)
        )

    def _remove_staging(self, staging: Staging) -> None:
        if self.remove_staged_files:
            staging.remove()
            self.log.info("Removed the staging %s.", staging)

    def _outlet_extras(self, context: Context) -> None:
        """The summary (without HubSpot's records) in the extra of every asset event of the outlets."""
        outlets = [outlet for outlet in getattr(self, "outlets", None) or [] if hasattr(outlet, "uri")]
        events = context.get("outlet_events") if hasattr(context, "get") else None
        if not outlets or events is None or self.summary is None:
            return
        extra = {key: value for key, value in self.summary.items() if key != "parts"}
        extra["parts"] = [{k: v for k, v in part.items() if k != "record"} for part in self.summary["parts"]]
        for outlet in outlets:
            events[outlet].extra.update(extra)

    # ---- lineage ----------------------------------------------------------------------------------

    def get_openlineage_facets_on_start(self) -> Any:
        from airflow_provider_hubspot_imports.transfers.lineage import transfer_lineage

        return transfer_lineage(self)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        from airflow_provider_hubspot_imports.transfers.lineage import transfer_lineage

        return transfer_lineage(self)
