"""No token, client secret or refresh token in any component's log, nor in any task's log.

Runs last: by then every scenario has run, with the static token, the rotated one and an OAuth
connection (refresh token, client secret, issued access tokens).
"""

from __future__ import annotations

from pathlib import Path

from support import Scenario


def log_files(run: Path) -> list[Path]:
    folders = [run / "logs", run / "task-logs", run / "airflow-home"]
    return sorted(
        path for folder in folders if folder.exists() for path in folder.rglob("*") if path.is_file()
    )


def test_no_secret_in_any_log(scenario: Scenario) -> None:
    deployment = scenario.refresh()
    secrets = [deployment.state["token"], *deployment.state.get("rotated_tokens", [])]
    oauth = deployment.state.get("oauth") or {}
    secrets += [oauth[key] for key in ("client_secret", "refresh_token") if key in oauth]
    secrets += scenario.emulator.issued_access_tokens()
    files = log_files(deployment.run)
    leaks = []
    total = 0
    for path in files:
        data = path.read_bytes()
        total += len(data)
        leaks += [(str(path), secret[:8] + "...") for secret in secrets if secret.encode() in data]
    scenario.write_figures(
        "secrets_in_logs",
        {
            "files_scanned": len(files),
            "bytes_scanned": total,
            "secrets_checked": len(secrets),
            "leaks": leaks,
        },
    )
    assert len(files) >= 10, files  # the component logs and the task logs were there to scan
    assert len(secrets) >= 3 if oauth else len(secrets) >= 1
    assert leaks == []
