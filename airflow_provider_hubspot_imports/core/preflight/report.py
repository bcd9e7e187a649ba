"""The pre-flight report: what a dry run of an import found, as plain JSON-serialisable data."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

# A file with a million bad dates must not hold a million problems in memory: each (file, kind)
# keeps its first problems with their lines; the counts stay exact.
KEPT_PER_KIND = 100


@dataclass(frozen=True)
class Problem:
    """One finding. `kind` is HubSpot's error type when `hubspot_type` is True (what HubSpot would
    report for that row), else a name of this package's own. `line` counts the header as line 1."""

    kind: str
    message: str
    file: str | None = None
    line: int | None = None
    column: str | None = None
    value: str | None = None  # only when the caller asked for values (personal data, often)
    hubspot_type: bool = True


@dataclass(frozen=True)
class Skipped:
    """A check that did not run, and why."""

    check: str
    reason: str


@dataclass
class FileTotals:
    """What was read of one file: data rows (header excluded), bytes, columns of the header."""

    file: str
    bytes: int
    rows: int = 0
    columns: int = 0
    rows_checked: int = 0
    read_to_end: bool = False


@dataclass
class PreflightReport:
    """The report of `HubSpotHook.validate_import`: `errors` (HubSpot would refuse the import or fail
    those rows), `warnings`, `skipped` checks, `counts` per kind (exact, also for problems not listed),
    and `files` totals. `has_errors` and `summary()` are what a caller gates and logs on."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    files: list[FileTotals] = field(default_factory=list)
    not_listed: int = 0  # problems counted but not listed (over KEPT_PER_KIND of their kind and file)
    not_listed_errors: int = 0

    def __post_init__(self) -> None:
        # How many problems each (file, kind) has listed; not a field, so `asdict` stays JSON-ready.
        self._kept: Counter[tuple[str | None, str]] = Counter()

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or self.not_listed_errors > 0

    def error(self, problem: Problem) -> None:
        self._add(problem, self.errors, is_error=True)

    def warning(self, problem: Problem) -> None:
        self._add(problem, self.warnings, is_error=False)

    def skip(self, check: str, reason: str) -> None:
        self.skipped.append(Skipped(check, reason))

    def _add(self, problem: Problem, into: list[Problem], *, is_error: bool) -> None:
        self.counts[problem.kind] = self.counts.get(problem.kind, 0) + 1
        key = (problem.file, problem.kind)
        if self._kept[key] >= KEPT_PER_KIND:
            self.not_listed += 1
            self.not_listed_errors += is_error
            return
        self._kept[key] += 1
        into.append(problem)

    def summary(self) -> str:
        """One log line: the verdict, totals, counts per kind and skipped checks."""
        error_count = len(self.errors) + self.not_listed_errors
        warning_count = len(self.warnings) + self.not_listed - self.not_listed_errors
        files = ", ".join(
            f"{totals.file} ({totals.rows} rows{'' if totals.read_to_end else ' read so far'}, "
            f"{totals.columns} columns, {totals.bytes} bytes)"
            for totals in self.files
        )
        verdict = "FAILED" if self.has_errors else "passed"
        text = f"Pre-flight {verdict}: {error_count} error(s), {warning_count} warning(s)"
        text += f" in {files}" if files else ""
        if self.counts:
            text += "; by kind: " + ", ".join(
                f"{kind} {count}" for kind, count in sorted(self.counts.items())
            )
        if self.skipped:
            text += "; skipped: " + "; ".join(f"{item.check} ({item.reason})" for item in self.skipped)
        return text + "."

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (what the operators push to XCom)."""
        return {
            "has_errors": self.has_errors,
            "summary": self.summary(),
            "errors": [asdict(problem) for problem in self.errors],
            "warnings": [asdict(problem) for problem in self.warnings],
            "skipped": [asdict(item) for item in self.skipped],
            "counts": dict(self.counts),
            "files": [asdict(totals) for totals in self.files],
            "not_listed": self.not_listed,
        }
