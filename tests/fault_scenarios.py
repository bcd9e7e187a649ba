"""The fault matrix: every kind of trouble HubSpot (or a proxy in front of it) can cause, and the
outcome this package promises for each, in every waiting mode. Shared by the hook and DAG-run tests.

Connections under test allow 2 retries per call (`MAX_RETRIES`), a 0.5 s timeout per attempt and
tiny backoffs, so the matrix runs in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import airflow
from packaging.version import Version

MAX_RETRIES = 2
TIMEOUT = 0.5
CONNECTION_EXTRAS = {"max_retries": MAX_RETRIES, "timeout": TIMEOUT, "retry_backoff_seconds": 0.05}
HTML = "<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>"


def error_body(category: str | None, message: str, **more: Any) -> dict[str, Any]:
    body = {"status": "error", "message": message, "correlationId": "3f1c-fault-matrix", **more}
    if category:
        body["category"] = category
    return body


@dataclass(frozen=True)
class FaultCase:
    name: str
    faults: list[dict[str, Any]]
    hook_error: str | None  # None: get_import absorbs the faults and returns the record
    hook_requests: int
    sensor_state: str  # the reschedule / deferrable sensor task's final state
    sensor_requests: int  # requests until the sensor finished (the import is DONE once faults pass)
    message: str = ""  # must appear in the error (hook) / task log (sensor)
    notes: str = field(default="", compare=False)


TRANSIENT = [
    FaultCase("503 HTML from a proxy", [{"status": 503, "body": HTML}], None, 2, "success", 2),
    FaultCase("502 JSON", [{"status": 502, "json": error_body(None, "Bad gateway")}], None, 2, "success", 2),
    FaultCase("504 HTML", [{"status": 504, "body": HTML}], None, 2, "success", 2),
    FaultCase("500", [{"status": 500, "json": error_body(None, "internal error")}], None, 2, "success", 2),
    FaultCase("521 origin down", [{"status": 521, "body": HTML}], None, 2, "success", 2),
    FaultCase("423 locked", [{"status": 423, "json": error_body("LOCKED", "locked")}], None, 2, "success", 2),
    FaultCase(
        "477 migration in progress",
        [{"status": 477, "json": error_body(None, "migration"), "headers": {"Retry-After": "0"}}],
        None,
        2,
        "success",
        2,
    ),
    FaultCase(
        "429 TEN_SECONDLY_ROLLING with Retry-After",
        [
            {
                "status": 429,
                "headers": {"Retry-After": "1"},
                "json": {
                    "status": "error",
                    "message": "You have reached your ten_secondly_rolling limit.",
                    "errorType": "RATE_LIMIT",
                    "policyName": "TEN_SECONDLY_ROLLING",
                },
            }
        ],
        None,
        2,
        "success",
        2,
    ),
    FaultCase(
        "429 SECONDLY, window header only",
        [
            {
                "status": 429,
                "headers": {"X-HubSpot-RateLimit-Interval-Milliseconds": "200"},
                "json": {
                    "status": "error",
                    "message": "secondly",
                    "errorType": "RATE_LIMIT",
                    "policyName": "SECONDLY",
                },
            }
        ],
        None,
        2,
        "success",
        2,
    ),
    FaultCase("dropped connection", [{"drop": True}], None, 2, "success", 2),
    FaultCase("read timeout (hanging server)", [{"status": 200, "delay": 2.0}], None, 2, "success", 2),
    FaultCase(
        "200 with truncated JSON",
        [
            {
                "status": 200,
                "body": '{"id": "1", "state": "DO',
                "headers": {"Content-Type": "application/json"},
            }
        ],
        None,
        2,
        "success",
        2,
    ),
    FaultCase("200 with an HTML page", [{"status": 200, "body": HTML}], None, 2, "success", 2),
    FaultCase("200 lacking required fields", [{"status": 200, "json": {"id": "1"}}], None, 2, "success", 2),
    FaultCase(
        "503 outlasting the retries",
        [{"status": 503, "body": HTML}] * (MAX_RETRIES + 1),
        "HubSpotServerError",
        MAX_RETRIES + 1,
        "success",
        MAX_RETRIES + 2,
        message="HTTP 503",
        notes="the call gives up; the sensor waits for its next poke",
    ),
    FaultCase(
        "429 DAILY",
        [
            {
                "status": 429,
                "json": {
                    "status": "error",
                    "message": "You have reached your daily limit.",
                    "errorType": "RATE_LIMIT",
                    "policyName": "DAILY",
                },
            }
        ],
        "HubSpotRateLimitError",
        1,
        "success",
        2,
        message="DAILY API limit is spent",
        notes="not retried in the call; the sensor waits for its next poke",
    ),
]

PERMANENT = [
    FaultCase(
        "401 wrong or expired token",
        [
            {
                "status": 401,
                "json": error_body("INVALID_AUTHENTICATION", "Authentication credentials not found."),
            }
        ],
        "HubSpotAuthError",
        1,
        "failed",
        1,
        message="HTTP 401 INVALID_AUTHENTICATION",
    ),
    FaultCase(
        "403 missing crm.import scope",
        [
            {
                "status": 403,
                "json": error_body(
                    "MISSING_SCOPES",
                    "This app hasn't been granted all required scopes to make this call.",
                    errors=[
                        {
                            "message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": ["crm.import"]},
                        }
                    ],
                ),
            }
        ],
        "HubSpotPermissionError",
        1,
        "failed",
        1,
        message="lacks the scope(s) crm.import",
    ),
    FaultCase(
        "404 unknown import",
        [{"status": 404, "json": error_body("OBJECT_NOT_FOUND", "Import not found")}],
        "HubSpotNotFoundError",
        1,
        "failed",
        1,
        message="HTTP 404 OBJECT_NOT_FOUND",
    ),
    FaultCase(
        "400 validation error",
        [{"status": 400, "json": error_body("VALIDATION_ERROR", "Invalid input")}],
        "HubSpotClientError",
        1,
        "failed",
        1,
        message="HTTP 400 VALIDATION_ERROR",
    ),
]

ALL_CASES = TRANSIENT + PERMANENT

# The DAG-run halves of the matrix vary only the HTTP fault; what depends on Airflow is the run
# around it. They run every case on the two targets (Airflow 3.3+ and 2.11) and one case of each
# kind on the versions in between (3.1, 3.2), where a DAG run is slowest: a retried 5xx, a 429
# with Retry-After, a dropped connection, retries running out, a refused token.
REPRESENTATIVE = (
    "500",
    "429 TEN_SECONDLY_ROLLING with Retry-After",
    "dropped connection",
    "503 outlasting the retries",
    "401 wrong or expired token",
)
_AIRFLOW = Version(Version(airflow.__version__).base_version)
DAGRUN_CASES = (
    [case for case in ALL_CASES if case.name in REPRESENTATIVE]
    if Version("3.0") <= _AIRFLOW < Version("3.3")
    else ALL_CASES
)
assert len([case for case in ALL_CASES if case.name in REPRESENTATIVE]) == len(REPRESENTATIVE)
