"""How a transfer ended: its parts' states, the quality gate over their summed counters, the summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_hubspot_imports.core.quality import (
    ERRORS,
    MAX_ERRORS_SHOWN,
    QualityGate,
    describe_error,
)
from airflow_provider_hubspot_imports.models import ImportRecord

if TYPE_CHECKING:
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
    from airflow_provider_hubspot_imports.transfers.parts import Part


def failed_parts_message(parts: Sequence[Part]) -> str | None:
    """Why the transfer failed because of parts that did not end DONE, or None."""
    failed = [part for part in parts if part.failed]
    if not failed:
        return None
    never = [part for part in parts if not part.started]
    lines = [
        f"{len(failed)} of {len(parts)} parts did not end DONE: "
        + "; ".join(f"{part.describe()} is {part.state}" for part in failed)
        + "."
    ]
    if never:
        lines.append("Not started after that: " + ", ".join(part.describe() for part in never) + ".")
    return "\n".join(lines)


def summed_counters(parts: Sequence[Part]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for part in parts:
        if part.record is not None:
            total.update(ImportRecord(part.record).counters)
    return dict(total)


def gate_breach(hook: HubSpotHook, gate: QualityGate, parts: Sequence[Part], log: Any) -> str | None:
    """The failure message when the parts' error rows, summed, break the gate; None when it holds.

    A part whose counters lack ERRORS has its error rows counted from the errors endpoint (all of
    them: the sum needs each part's exact count)."""
    if not gate.active:
        return None
    errors_by_part: dict[int, int] = {}
    for part in parts:
        record = ImportRecord(part.record or {})
        if ERRORS in record.counters:
            errors_by_part[part.number] = record.error_rows
        else:
            errors_by_part[part.number] = sum(1 for _ in hook.get_import_errors(record.id))
            log.info(
                "Part %d (import %s): no ERRORS counter; counted %d error rows from the errors endpoint.",
                part.number,
                record.id,
                errors_by_part[part.number],
            )
    counters = summed_counters(parts)
    counters[ERRORS] = sum(errors_by_part.values())
    total = ImportRecord({"id": "all parts", "metadata": {"counters": counters}})
    breach = gate.breach(total)
    if breach is None:
        log.info("The quality gate holds over %d parts: %d error rows in all.", len(parts), counters[ERRORS])
        return None
    lines = [f"The transfer's {len(parts)} parts fail the quality gate together: {breach}."]
    lines += [
        f"  {part.describe()}: {errors_by_part[part.number]} error rows"
        for part in parts
        if errors_by_part[part.number]
    ]
    shown = 0
    for part in parts:
        if not errors_by_part[part.number] or shown >= MAX_ERRORS_SHOWN:
            continue
        for error in hook.get_import_errors(str(part.import_id), limit=MAX_ERRORS_SHOWN - shown):
            lines.append(f"  - part {part.number}: {describe_error(error)}")
            shown += 1
    return "\n".join(lines)


def error_rows_of(hook: HubSpotHook, parts: Sequence[Part]) -> Iterator[dict[str, Any]]:
    """Every part's error items, each with its ``part`` and ``importId`` (for one export file)."""
    for part in parts:
        if part.started:
            for error in hook.get_import_errors(str(part.import_id)):
                yield {**error, "part": part.number, "importId": part.import_id}


def summary(parts: Sequence[Part], *, object_type_id: str, operation: str, staging: str) -> dict[str, Any]:
    """The task's XCom: each part's import, state and counters (HubSpot's record as sent), and sums."""
    counters = summed_counters(parts)
    return {
        "object_type_id": object_type_id,
        "operation": operation,
        "staging": staging,
        "rows_sent": sum(part.file.rows for part in parts if part.started),
        "rows_staged": sum(part.file.rows for part in parts),
        "created": counters.get("CREATED_OBJECTS", 0),
        "updated": counters.get("UPDATED_OBJECTS", 0),
        "errors": counters.get(ERRORS, 0),
        "counters": counters,
        "parts": [
            {
                "part": part.number,
                "file": part.file.name,
                "rows": part.file.rows,
                "import_id": part.import_id,
                "state": part.state,
                "counters": ImportRecord(part.record).counters if part.record else {},
                "record": part.record,
            }
            for part in parts
        ],
    }
