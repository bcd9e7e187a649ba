"""What HubSpot says about an import: its state and the record around it.

`ImportRecord` keeps the JSON object exactly as HubSpot sent it (`.raw`) and reads typed values
off it on demand, so fields this package does not know survive untouched into XCom.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

log = logging.getLogger(__name__)

_warned_unknown_states: set[str] = set()


class ImportState(str, Enum):
    """The states of a HubSpot CRM import.

    A state HubSpot adds later is accepted as a pseudo-member (``ImportState("NEW")`` works),
    logged once per process, and is never terminal: waiting goes on rather than crashing.
    """

    STARTED = "STARTED"
    PROCESSING = "PROCESSING"
    DEFERRED = "DEFERRED"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    REVERTED = "REVERTED"

    @classmethod
    def _missing_(cls, value: object) -> ImportState | None:
        if not isinstance(value, str) or not value:
            return None
        if value not in _warned_unknown_states:
            _warned_unknown_states.add(value)
            log.warning(
                "HubSpot reported import state %r, which this package does not know; "
                "treating it as not finished and waiting on.",
                value,
            )
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    @property
    def is_known(self) -> bool:
        return self.value in ImportState.__members__

    def __str__(self) -> str:
        return self.value


SUCCESS_STATES: frozenset[ImportState] = frozenset({ImportState.DONE})
FAILURE_STATES: frozenset[ImportState] = frozenset(
    {ImportState.FAILED, ImportState.CANCELED, ImportState.REVERTED}
)
TERMINAL_STATES: frozenset[ImportState] = SUCCESS_STATES | FAILURE_STATES
ACTIVE_STATES: frozenset[ImportState] = frozenset(
    {ImportState.STARTED, ImportState.PROCESSING, ImportState.DEFERRED}
)


def parse_states(
    states: Iterable[str | ImportState] | None, default: frozenset[ImportState], *, name: str
) -> frozenset[ImportState]:
    """Turn a user's `success_states` / `failure_states` argument into states, refusing typos."""
    if states is None:
        return default
    if isinstance(states, str):
        raise TypeError(
            f"{name} must be a collection of states such as {{'DONE'}}, not the string {states!r}"
        )
    parsed = set()
    for state in states:
        text = state.value if isinstance(state, ImportState) else str(state).strip().upper()
        if text not in ImportState.__members__:
            known = ", ".join(ImportState.__members__)
            raise ValueError(
                f"{name} contains {state!r}, which is not an import state. Use some of: {known}."
            )
        parsed.add(ImportState(text))
    return frozenset(parsed)


@dataclass(frozen=True)
class ImportRecord:
    """One import as HubSpot described it. `raw` is the untouched JSON object."""

    raw: Mapping[str, Any]

    @property
    def id(self) -> str:
        return str(self.raw["id"])

    @property
    def state(self) -> ImportState:
        return ImportState(self.raw["state"])

    @property
    def import_name(self) -> str | None:
        return self.raw.get("importName")

    @property
    def metadata(self) -> Mapping[str, Any]:
        return self.raw.get("metadata") or {}

    @property
    def counters(self) -> dict[str, int]:
        """HubSpot's counters (no fixed keys: any may be missing)."""
        return dict(self.metadata.get("counters") or {})

    @property
    def error_rows(self) -> int:
        return int(self.counters.get("ERRORS", 0))

    @property
    def total_rows(self) -> int | None:
        total = self.counters.get("TOTAL_ROWS")
        return None if total is None else int(total)

    @property
    def created_at(self) -> datetime:
        return parse_timestamp(self.raw["createdAt"])

    @property
    def updated_at(self) -> datetime:
        return parse_timestamp(self.raw["updatedAt"])

    @property
    def mapped_object_type_ids(self) -> list[str]:
        return list(self.raw.get("mappedObjectTypeIds") or [])

    @property
    def opt_out_import(self) -> bool:
        return bool(self.raw.get("optOutImport", False))

    @property
    def import_source(self) -> str | None:
        return self.raw.get("importSource")

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    def summary(self) -> str:
        """One human line: id, state and counters, as logged on every poke."""
        counters = ", ".join(f"{key}={value}" for key, value in sorted(self.counters.items())) or "none yet"
        name = f" ({self.import_name})" if self.import_name else ""
        return f"import {self.id}{name} is {self.state.value}; counters: {counters}"


def parse_timestamp(value: str) -> datetime:
    """Parse HubSpot's ISO 8601 timestamps (with a trailing Z) into aware datetimes."""
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    return datetime.fromisoformat(text)
