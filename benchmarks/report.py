"""One table row per figure, printed as ``figure | measured | goal | holds?`` and saved as JSON."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


@dataclass
class Row:
    """`holds` is None for a figure without a goal. `quick_fail` is set when quick mode must fail:
    the goal is missed by more than the quick-mode margin."""

    figure: str
    measured: str
    goal: str
    holds: bool | None
    quick_fail: bool = False
    details: dict[str, Any] = field(default_factory=dict)


def verdict(row: Row) -> str:
    if row.holds is None:
        return "-"
    return "yes" if row.holds else ("NO (beyond margin)" if row.quick_fail else "no")


def table(rows: list[Row]) -> str:
    head = ("figure", "measured", "goal", "holds?")
    cells = [head, *[(row.figure, row.measured, row.goal, verdict(row)) for row in rows]]
    widths = [max(len(cell[i]) for cell in cells) for i in range(4)]
    lines = [" | ".join(cell[i].ljust(widths[i]) for i in range(4)).rstrip() for cell in cells]
    lines.insert(1, "-|-".join("-" * width for width in widths))
    return "\n".join(lines)


def write_json(path: Path, rows: list[Row], *, mode: str, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "mode": mode,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "duration_seconds": round(seconds, 1),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}",
        "rows": [asdict(row) for row in rows],
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.replace(path)
