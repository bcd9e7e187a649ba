"""The upload streams: peak memory of a process uploading a file grows far less than the file."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCHMARK = Path(__file__).parent.parent / "benchmarks" / "upload_memory.py"


def test_uploading_a_64_mb_csv_adds_less_than_20_mb_to_peak_rss():
    spec = importlib.util.spec_from_file_location("upload_memory", BENCHMARK)
    assert spec is not None and spec.loader is not None
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)

    result = benchmark.measure(64)

    assert result["file_mb"] >= 64
    assert result["added_mb"] < 20, result
