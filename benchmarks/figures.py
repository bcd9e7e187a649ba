"""All figures in order: the DAG-parse children first (no server), then everything that needs the
emulator process, the emulator's capacity last of those, against the rates the other figures
drove; then the triggerer's cost, whose child process starts an emulator of its own; then the
async client against the raw asyncio floor (and the pool-size figure), whose child process starts
a stand-in server of its own; pre-flight, in child processes with an emulator thread each;
last, the SQL transfer, with a PostgreSQL cluster and an emulator of its own."""

from __future__ import annotations

from collections.abc import Callable

from benchmarks import (
    api_economy,
    call_overhead,
    dag_parse,
    emulator_capacity,
    floor_cost,
    preflight,
    rate_limit,
    sql_transfer,
    triggerer_cost,
)
from benchmarks.emulator_process import EmulatorProcess
from benchmarks.report import Row


def run_all(*, quick: bool, say: Callable[[str], None]) -> list[Row]:
    rows: list[Row] = []
    say("2 DAG-parse cost (fresh interpreters)")
    rows += dag_parse.measure(dag_parse.QUICK if quick else dag_parse.FULL)
    with EmulatorProcess() as emulator:
        say(f"emulator process on {emulator.base_url}")
        say("1 call overhead (interleaved rounds)")
        call_rows, call_drive = call_overhead.measure(
            emulator, call_overhead.QUICK if quick else call_overhead.FULL
        )
        rows = call_rows + rows
        say("3 API economy (dag.test() of gate DAGs, reschedule and deferrable)")
        cases = api_economy.QUICK if quick else api_economy.FULL
        rows += api_economy.measure(emulator, cases)
        say("4 rate-limit economy (concurrent sensors)")
        limit_rows, limit_rate = rate_limit.measure(emulator, rate_limit.QUICK if quick else rate_limit.FULL)
        rows += limit_rows
        say("5 emulator capacity")
        driven = {
            "figure 1 (sequential GETs)": call_drive["sequential_calls_per_second"],
            "figure 3 (one sensor)": 1.0 / min(case.poke_interval for case in cases),
            "figure 4 (50 sensors)": limit_rate,
        }
        rows += emulator_capacity.measure(
            emulator, emulator_capacity.QUICK if quick else emulator_capacity.FULL, driven
        )
    say("6 triggerer cost (trigger_scale.py in a child process)")
    rows += triggerer_cost.measure(triggerer_cost.QUICK if quick else triggerer_cost.FULL)
    say("7 triggerer floor: CPU per poll against a raw asyncio client" + ("" if quick else "; 8 pool size"))
    rows += floor_cost.measure(floor_cost.QUICK if quick else floor_cost.FULL)
    say("9 pre-flight: validate_import against a bare csv.reader pass, and its memory")
    rows += preflight.measure(preflight.QUICK if quick else preflight.FULL, quick=quick)
    say("10 SQL transfer from PostgreSQL against psql's CSV export and one upload")
    rows += sql_transfer.measure(sql_transfer.QUICK if quick else sql_transfer.FULL)
    return rows
