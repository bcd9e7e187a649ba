"""Fill and test a new `hubspot` connection in Airflow 3's real UI, in headless Chromium; save screenshots.

Not part of CI. Needs Debian's chromium (`apt-get install -y chromium`) and the `playwright` package
(no browser download: it drives /usr/bin/chromium). Run inside the project's environment:

    .venv/bin/python tools/browser_check.py [--out docs]

It starts the emulator and `airflow api-server` on loopback in a throw-away AIRFLOW_HOME, opens the
connection form, fills host, port and token, saves, presses the list's Test button, and writes
docs/connection-form.png, docs/connection-form-extras.png and docs/connection-test-result.png.
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "pat-na1-emulator-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status < 500:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {seconds:g} s")


def start(stack: ExitStack, cmd: list[str], env: dict[str, str], log: Path) -> None:
    handle = stack.enter_context(log.open("w"))
    process = subprocess.Popen(cmd, env=env, stdout=handle, stderr=subprocess.STDOUT)

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()

    stack.callback(stop)


def drive(base: str, emulator_url: str, out: Path, profile: Path) -> str:
    """Open the form, fill it, save it, press Test; returns the text the UI showed for the result."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 1700},
        )
        page = browser.new_page()
        page.goto(f"{base}/connections", wait_until="networkidle")
        page.get_by_role("button", name="Add Connection").click()
        page.get_by_role("textbox", name="Connection ID").fill("hubspot_default")
        type_box = page.get_by_role("combobox").first
        type_box.click()
        type_box.fill("HubSpot")
        page.get_by_role("option", name="HubSpot", exact=True).click()
        page.get_by_label("API base URL").fill(emulator_url)
        # Airflow 3.3's list Test button sends 0 for an empty port and then refuses the test.
        page.get_by_label("Port").fill(emulator_url.rsplit(":", 1)[1])
        page.get_by_label("Access token").fill(TOKEN)
        page.wait_for_timeout(500)
        page.screenshot(path=str(out / "connection-form.png"), full_page=True)
        page.get_by_role("button", name="Extra Fields", exact=True).click()  # the accordion's other pane
        page.wait_for_timeout(800)
        page.screenshot(path=str(out / "connection-form-extras.png"), full_page=True)
        # Airflow 3.3 tests a saved connection: Save, then the row's "Test Connection" button.
        page.get_by_role("button", name="Save").click()
        page.get_by_text("hubspot_default").first.wait_for(timeout=30_000)
        page.get_by_role("button", name="Test Connection").first.click()
        toast = page.get_by_text("Test Connection Successful").or_(page.get_by_text("Test Connection Failed"))
        toast.first.wait_for(timeout=60_000)
        page.wait_for_timeout(800)
        page.screenshot(path=str(out / "connection-test-result.png"), full_page=True)
        text = page.locator("[data-scope=toast]").first.inner_text()
        browser.close()
        return text


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=REPO / "docs", help="where to write the PNGs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="hubspot-browser-check-"))
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "AIRFLOW__API_AUTH__JWT_SECRET": base64.urlsafe_b64encode(os.urandom(48)).decode(),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    python = sys.executable
    print(f"[browser] AIRFLOW_HOME {home}: migrating the database", flush=True)
    subprocess.run([python, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True)
    api_port, emulator_port = free_port(), free_port()
    base, emulator_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{emulator_port}"
    with ExitStack() as stack:
        emulator = [
            python,
            "-m",
            "airflow_provider_hubspot_imports.testing.emulator",
            "--port",
            str(emulator_port),
        ]
        start(stack, emulator, env, home / "emulator.log")
        start(
            stack,
            [python, "-m", "airflow", "api-server", "-H", "127.0.0.1", "-p", str(api_port)],
            env,
            home / "api-server.log",
        )
        wait_for(f"{base}/api/v2/monitor/health")
        print(f"[browser] API server on {base}, emulator on {emulator_url}", flush=True)
        text = drive(base, emulator_url, args.out, home / "chromium-profile")
    print(f"[browser] the UI showed: {text}")
    print(f"[browser] screenshots in {args.out}; logs in {home}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
