"""Peak memory of `HubSpotHook.start_import` while it uploads a large CSV.

The emulator runs in its own process (it streams uploads too, but it is not what is measured).
A second, fresh process imports the hook, makes one small request to warm everything up, records
its peak RSS (the baseline), uploads the file, and records its peak RSS again. The upload must
add at most ``--budget-mb`` (default 50 MB) to the peak: the file is streamed, never held.

    python benchmarks/upload_memory.py --size-mb 200
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MEASURED = r"""
import json, resource, sys, time
from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes

path, name = sys.argv[1], sys.argv[2]
hook = HubSpotHook(timeout=300)
list(hook.list_imports(limit=1))  # warm-up: connection, session, tenacity, JSON
baseline = peak_mb()
started = time.monotonic()
record = hook.start_import({"name": "benchmark", "files": [{"fileName": name, "fileFormat": "CSV"}]}, [path])
seconds = time.monotonic() - started
print(json.dumps({"baseline_mb": baseline, "peak_mb": peak_mb(), "seconds": seconds,
                  "import_id": record.id, "total_rows": record.counters.get("TOTAL_ROWS")}))
"""


def write_csv(path: Path, size_mb: int) -> int:
    """A contacts CSV of about `size_mb` MB, written in blocks; returns its data row count."""
    row_bytes = 64
    block_rows = 16384
    header = "email,firstname,lastname\n"
    rows = 0
    with path.open("w") as handle:
        handle.write(header)
        while handle.tell() < size_mb * 1024 * 1024:
            block = "".join(
                f"person{rows + index:012d}@example.com,First{index % 97},Last{index % 89}".ljust(
                    row_bytes - 1
                )
                + "\n"
                for index in range(block_rows)
            )
            handle.write(block)
            rows += block_rows
    return rows


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_hubspot_imports.testing.emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "listening on " not in line:
        process.terminate()
        raise RuntimeError(f"the emulator did not start: {line!r}")
    return process, line.split("listening on ")[1].split(";")[0].strip()


def measure(size_mb: int) -> dict[str, float | int | str]:
    from airflow_provider_hubspot_imports.testing.model import DEFAULT_TOKEN

    with tempfile.TemporaryDirectory(prefix="hubspot-upload-benchmark-") as folder:
        csv = Path(folder) / "contacts.csv"
        rows = write_csv(csv, size_mb)
        emulator, base_url = start_emulator()
        try:
            env = dict(
                os.environ,
                AIRFLOW_CONN_HUBSPOT_DEFAULT=json.dumps(
                    {"conn_type": "hubspot", "host": base_url, "password": DEFAULT_TOKEN}
                ),
            )
            done = subprocess.run(
                [sys.executable, "-c", MEASURED, str(csv), csv.name],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
        finally:
            emulator.terminate()
            emulator.wait(timeout=10)
        if done.returncode != 0:
            raise RuntimeError(f"the measured process failed:\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if result["total_rows"] != rows:
            raise RuntimeError(f"the emulator counted {result['total_rows']} rows, the file has {rows}")
        result.update(
            file_mb=round(csv.stat().st_size / 2**20, 1),
            added_mb=round(result["peak_mb"] - result["baseline_mb"], 1),
        )
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=200, help="size of the CSV to upload (default 200)")
    parser.add_argument(
        "--budget-mb", type=float, default=50.0, help="allowed growth of peak RSS (default 50)"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    result = measure(args.size_mb)
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(result))
    if result["added_mb"] > args.budget_mb:
        print(f"FAIL: the upload added {result['added_mb']} MB to peak RSS (budget {args.budget_mb} MB)")
        return 1
    print(f"OK: uploading {result['file_mb']} MB added {result['added_mb']} MB to peak RSS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
