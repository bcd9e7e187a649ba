"""How ImportStateTrigger scales: N triggers in one event loop against the emulator.

    python benchmarks/trigger_scale.py            # 1,000 triggers
    python benchmarks/trigger_scale.py --quick    # 100 triggers, for CI

The emulator runs in its own process so its CPU is not counted. Each import stays PROCESSING for
`--polls - 1` GETs and is DONE on the next. Phase 1 runs the triggers; phase 2 runs a bare
`aiohttp.ClientSession` GET loop (a reference async client: same pool size and semaphore, same
number of GETs, same interval) against the same server, to compare CPU per poll with. The raw
asyncio floor is `async_floor.py`'s (figure 7). Results: a table on stdout and JSON in
benchmarks/results/trigger_scale.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "trigger_scale.json"
TOKEN = "pat-na1-benchmark-token"
GOAL_CPU_RATIO = 2.0
GOAL_RSS_MB = 150.0


class RssSampler:
    """Peak resident memory of this process, sampled every 20 ms in a thread."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self.peak = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def start_emulator(count: int, polls: int, workdir: Path) -> tuple[subprocess.Popen[str], str]:
    lifecycle = [["PROCESSING", polls - 1], ["DONE"]]
    scenario = {
        "imports": [{"id": 1 + n, "lifecycle": lifecycle} for n in range(count)]
        + [{"id": 100_001 + n, "lifecycle": lifecycle} for n in range(count)]
    }
    path = workdir / "scenario.json"
    path.write_text(json.dumps(scenario))
    command = [
        sys.executable,
        "-m",
        "airflow_provider_hubspot_imports.testing.emulator",
        "--port",
        "0",
        "--token",
        TOKEN,
        "--scenario",
        str(path),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"listening on (\S+);", line)
    if not match:
        process.kill()
        raise RuntimeError(f"the emulator did not start: {line!r}")
    return process, match.group(1)


def emulator_stats(base_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base_url}/__emulator__/stats") as answer:
        return json.load(answer)


def measure(run: Any) -> dict[str, float]:
    """Wall time, CPU seconds and peak RSS of `run()` in this process."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with RssSampler() as sampler:
        run()
    return {
        "wall_s": time.perf_counter() - wall0,
        "cpu_s": time.process_time() - cpu0,
        "peak_rss_mb": sampler.peak / 2**20,
    }


def run_triggers(count: int, interval: float) -> tuple[list[dict[str, Any]], int]:
    from airflow_provider_hubspot_imports.hooks.hubspot_async import HubSpotAsyncClient
    from airflow_provider_hubspot_imports.triggers.imports import ImportStateTrigger

    polls = 0
    original = HubSpotAsyncClient.get_import

    async def counted(self: HubSpotAsyncClient, import_id: int | str) -> Any:
        nonlocal polls
        polls += 1
        return await original(self, import_id)

    HubSpotAsyncClient.get_import = counted  # type: ignore[method-assign]

    async def main() -> list[Any]:
        deadline = time.time() + 600
        triggers = [
            ImportStateTrigger(import_id=1 + n, poll_interval=interval, end_time=deadline)
            for n in range(count)
        ]
        return await asyncio.gather(*(anext(trigger.run()) for trigger in triggers))

    try:
        events = asyncio.run(main())
    finally:
        HubSpotAsyncClient.get_import = original  # type: ignore[method-assign]
    return [event.payload for event in events], polls


def run_bare_loop(base_url: str, count: int, polls: int, interval: float) -> int:
    import aiohttp

    from airflow_provider_hubspot_imports.hooks.async_transport import POOL_SIZE

    done = 0
    gate = asyncio.Semaphore(POOL_SIZE)

    async def one(session: aiohttp.ClientSession, import_id: int) -> None:
        nonlocal done
        for poll in range(polls):
            async with (
                gate,
                session.get(
                    f"{base_url}/crm/imports/2026-03/{import_id}",
                    headers={"Authorization": f"Bearer {TOKEN}"},
                ) as response,
            ):
                json.loads(await response.read())
            done += 1
            if poll < polls - 1:
                await asyncio.sleep(interval)

    async def main() -> None:
        connector = aiohttp.TCPConnector(limit=POOL_SIZE)
        async with aiohttp.ClientSession(connector=connector) as session:
            await asyncio.gather(*(one(session, 100_001 + n) for n in range(count)))

    asyncio.run(main())
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 triggers (for CI)")
    parser.add_argument("--triggers", type=int, default=None, help="number of triggers (default 1000)")
    parser.add_argument("--polls", type=int, default=6, help="GETs until an import is DONE (default 6)")
    parser.add_argument("--interval", type=float, default=1.0, help="poll interval in seconds (default 1)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    count = args.triggers or (100 if args.quick else 1000)

    workdir = Path(tempfile.mkdtemp(prefix="hubspot-trigger-scale-"))
    os.environ.setdefault("AIRFLOW_HOME", str(workdir))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    emulator, base_url = start_emulator(count, args.polls, workdir)
    try:
        os.environ["AIRFLOW_CONN_HUBSPOT_DEFAULT"] = json.dumps(
            {"conn_type": "hubspot", "host": base_url, "password": TOKEN}
        )
        import aiohttp  # noqa: F401  (imported before the baseline, as the triggerer has it)
        import psutil

        import airflow_provider_hubspot_imports.hooks.hubspot_async
        import airflow_provider_hubspot_imports.triggers.imports  # noqa: F401

        baseline_mb = psutil.Process().memory_info().rss / 2**20

        before = emulator_stats(base_url)["requests"]
        events: list[dict[str, Any]] = []
        trigger_polls = 0

        def triggers() -> None:
            nonlocal events, trigger_polls
            events, trigger_polls = run_triggers(count, args.interval)

        trig = measure(triggers)
        stats = emulator_stats(base_url)
        trigger_requests = stats["requests"] - before

        bare_polls = 0

        def bare() -> None:
            nonlocal bare_polls
            bare_polls = run_bare_loop(base_url, count, args.polls, args.interval)

        base = measure(bare)
        bare_requests = emulator_stats(base_url)["requests"] - stats["requests"]
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)

    succeeded = sum(1 for event in events if event.get("status") == "succeeded")
    cpu_per_poll_trigger = trig["cpu_s"] / max(trigger_polls, 1)
    cpu_per_poll_bare = base["cpu_s"] / max(bare_polls, 1)
    ratio = cpu_per_poll_trigger / cpu_per_poll_bare
    rss_growth = trig["peak_rss_mb"] - baseline_mb
    requests_per_poll = trigger_requests / max(trigger_polls, 1)
    results = {
        "triggers": count,
        "polls_per_import": args.polls,
        "poll_interval_s": args.interval,
        "completed": succeeded,
        "trigger": {
            **trig,
            "polls": trigger_polls,
            "requests": trigger_requests,
            "requests_per_poll": requests_per_poll,
            "cpu_ms_per_poll": cpu_per_poll_trigger * 1000,
            "rss_growth_mb": rss_growth,
        },
        "bare_aiohttp_loop": {
            **base,
            "polls": bare_polls,
            "requests": bare_requests,
            "cpu_ms_per_poll": cpu_per_poll_bare * 1000,
            "rss_growth_mb": base["peak_rss_mb"] - baseline_mb,
        },
        "baseline_rss_mb": baseline_mb,
        "cpu_ratio_trigger_to_bare": ratio,
        "emulator_status_counts": stats["by_status"],
        "goals": {
            "all_completed": succeeded == count,
            "requests_per_poll_is_1": requests_per_poll == 1.0,
            f"cpu_ratio_le_{GOAL_CPU_RATIO:g}": ratio <= GOAL_CPU_RATIO,
            f"rss_growth_le_{GOAL_RSS_MB:g}_mb": rss_growth <= GOAL_RSS_MB,
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")

    print(
        f"{count} ImportStateTrigger vs bare aiohttp loop, {args.polls} polls each, "
        f"interval {args.interval:g} s"
    )
    rows = [
        ("", "triggers", "bare aiohttp"),
        ("completed", f"{succeeded}/{count}", "-"),
        ("wall time (s)", f"{trig['wall_s']:.2f}", f"{base['wall_s']:.2f}"),
        ("CPU (s)", f"{trig['cpu_s']:.2f}", f"{base['cpu_s']:.2f}"),
        ("polls", str(trigger_polls), str(bare_polls)),
        ("requests (emulator log)", str(trigger_requests), str(bare_requests)),
        ("requests per poll", f"{requests_per_poll:.3f}", f"{bare_requests / max(bare_polls, 1):.3f}"),
        ("CPU per poll (ms)", f"{cpu_per_poll_trigger * 1000:.3f}", f"{cpu_per_poll_bare * 1000:.3f}"),
        ("peak RSS above baseline (MB)", f"{rss_growth:.1f}", f"{base['peak_rss_mb'] - baseline_mb:.1f}"),
    ]
    for label, left, right in rows:
        print(f"  {label:<30}{left:>14}{right:>14}")
    print(f"  CPU per poll, triggers / bare loop: {ratio:.2f}x (goal <= {GOAL_CPU_RATIO:g}x)")
    print(f"  baseline RSS {baseline_mb:.1f} MB; goals met: {all(results['goals'].values())}")
    print(f"  results written to {args.output}")
    return 0 if all(results["goals"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
