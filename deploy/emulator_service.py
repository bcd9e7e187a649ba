"""The emulator as a deployment component: HubSpot's Imports API on one loopback port, and a
control port (a `multiprocessing` manager, authenticated) through which the scenarios add imports,
rotate tokens and read the request log.

    python deploy/emulator_service.py --port P --control-port C   # authkey in HUBSPOT_EMULATOR_AUTHKEY,
    # the accepted token in HUBSPOT_EMULATOR_TOKEN
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from multiprocessing.managers import BaseManager
from typing import Any

from airflow_provider_hubspot_imports.testing import HubSpotEmulator
from airflow_provider_hubspot_imports.testing.model import IMPORT_SCOPE, Fault


class EmulatorControl:
    """What the scenarios may do to the emulator; answers are plain data (picklable)."""

    def __init__(self, emulator: HubSpotEmulator) -> None:
        self.emulator = emulator
        # LoggedRequest.at is time.monotonic(); this turns it into epoch seconds.
        self.epoch_offset = time.time() - time.monotonic()

    def base_url(self) -> str:
        return self.emulator.base_url

    def add_import(self, import_id: int | None, lifecycle: list[Any]) -> int:
        return self.emulator.add_import(import_id, lifecycle)

    def rotate_token(self, old: str, new: str) -> None:
        """Accept `new` from now on and refuse `old` (401), as HubSpot does once a token is rotated."""
        with self.emulator.model.lock:
            self.emulator.model.tokens.pop(old, None)
            self.emulator.model.tokens[new] = frozenset([IMPORT_SCOPE])

    def add_oauth_app(self, client_id: str, client_secret: str, refresh_token: str) -> dict[str, str]:
        return self.emulator.add_oauth_app(client_id, client_secret, refresh_token)

    def issued_access_tokens(self) -> list[str]:
        with self.emulator.model.lock:
            return sorted(self.emulator.model.oauth.expiry)

    def set_start_lifecycle(self, lifecycle: list[Any]) -> None:
        self.emulator.set_start_lifecycle(lifecycle)

    def set_start_delay(self, seconds: float) -> None:
        """Starts answer this long after their import was created (a window to kill the worker in)."""
        self.emulator.set_start_delay(seconds)

    def hold_next_poll(self, import_id: int, seconds: float) -> None:
        """Hold the import's next GET `seconds` before answering it (503): a poke surely in flight,
        for a scenario to kill its worker in."""
        self.emulator.add_faults(import_id, [Fault(status=503, delay=seconds)])

    def held_poll_arrived(self, import_id: int) -> bool:
        """The GET that `hold_next_poll` armed for has arrived (and is being held)."""
        with self.emulator.model.lock:
            return not self.emulator.model.imports[import_id].faults

    def started_imports(self) -> list[dict[str, Any]]:
        """Imports started through the API, oldest first: id and name (which carries the start key)."""
        return [{"id": item["id"], "name": item["name"]} for item in self.emulator.started_imports()]

    def requests(self, import_ids: list[int] | None = None) -> list[dict[str, Any]]:
        """The request log (optionally of some imports): method, path, import id, status, epoch
        time, and the state served for 200 answers to a GET of one import."""
        wanted = None if import_ids is None else set(import_ids)
        rows = []
        for entry in self.emulator.requests():
            if wanted is not None and entry.import_id not in wanted:
                continue
            state = None
            if entry.status == 200 and entry.method == "GET" and entry.import_id is not None:
                body = entry.response_json()
                state = body.get("state") if isinstance(body, dict) else None
            rows.append(
                {
                    "method": entry.method,
                    "path": entry.path,
                    "import_id": entry.import_id,
                    "status": entry.status,
                    "at": entry.at + self.epoch_offset,
                    "state": state,
                    "authorized": entry.authorized,
                }
            )
        return rows

    def import_ids(self) -> list[int]:
        with self.emulator.model.lock:
            return sorted(self.emulator.model.imports)


class ControlManager(BaseManager):
    pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    args = parser.parse_args(argv)
    token = os.environ.get("HUBSPOT_EMULATOR_TOKEN")
    tokens = {token: [IMPORT_SCOPE]} if token else None
    emulator = HubSpotEmulator(port=args.port, tokens=tokens).start()
    control = EmulatorControl(emulator)
    ControlManager.register("control", callable=lambda: control)
    manager = ControlManager(
        address=("127.0.0.1", args.control_port), authkey=os.environ["HUBSPOT_EMULATOR_AUTHKEY"].encode()
    )
    server = manager.get_server()
    threading.Thread(target=server.serve_forever, name="emulator-control", daemon=True).start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    print(f"emulator on {emulator.base_url}; control on 127.0.0.1:{args.control_port}", flush=True)
    stopped.wait()
    emulator.stop()
    return 0


def connect(port: int, authkey: str) -> Any:
    """The control proxy of a running emulator service."""
    ControlManager.register("control")
    manager = ControlManager(address=("127.0.0.1", port), authkey=authkey.encode())
    manager.connect()
    return manager.control()  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
