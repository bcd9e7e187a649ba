"""CPU per poll of async HTTP clients side by side: ImportStateTrigger against the raw asyncio floor.

    python benchmarks/async_floor.py                 # 300 and 1,000 waits, 4 clients, 2 rounds
    python benchmarks/async_floor.py --tls           # the same over HTTPS (every real poll is)
    python benchmarks/async_floor.py --quick         # 300 waits, no httpx: for CI
    python benchmarks/async_floor.py --pool-sizes 5,10,20,50 --latency 0.1   # the pool-size figure

N concurrent waits, each polling its own import `--polls` times every `--interval` s, against a
stand-in server written here (not the package's emulator): a minimal asyncio HTTP/1.1 server in
its own process, so its CPU is not counted and its cost does not shape the result. It answers
`GET .../{id}` with a HubSpot import record, PROCESSING until the id's last poll, then DONE. With
`--tls` it speaks HTTPS with a self-signed certificate that every client is given to trust.

Clients, measured in this one process, in interleaved rounds (the order rotates each round):
- ``raw``: the floor. A hand-written HTTP/1.1 GET on 50 keep-alive asyncio connections,
  Content-Length framing, ``json.loads``.
- ``aiohttp``: a bare ``aiohttp.ClientSession`` (50 connections), ``json.loads`` of the body.
- ``httpx``: a bare ``httpx.AsyncClient`` (50 connections) behind a 50-wide semaphore.
- ``client``: the package's ``HubSpotAsyncClient`` alone, one per wait (its shared pool and all).
- ``trigger``: N ``ImportStateTrigger``s, each with its client (what a triggerer runs).
CPU per poll is this process's CPU time over the polls made; the lower of the rounds is kept.
Information, not a goal: what a poll costs in a real triggerer is `triggerer_real.py`'s figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "async_floor.json"
TOKEN = "pat-na1-floor-benchmark-token"
RAW_CONNECTIONS = 50
CLIENTS = ("raw", "aiohttp", "httpx", "client", "trigger")


# ---- the stand-in server (its own process) ---------------------------------------------------


def record_json(import_id: int, state: str) -> bytes:
    """A HubSpot import record, shaped as HubSpot sends one (about 700 bytes)."""
    return json.dumps(
        {
            "id": str(import_id),
            "state": state,
            "createdAt": "2026-11-30T10:00:00.000Z",
            "updatedAt": "2026-11-30T10:05:00.000Z",
            "importSource": "API",
            "importName": f"Contacts import {import_id}",
            "optOutImport": False,
            "mappedObjectTypeIds": ["0-1"],
            "importTemplate": {"templateId": 0, "templateType": "user"},
            "importRequestJson": {"dateFormat": "DAY_MONTH_YEAR", "timeZone": "Europe/Berlin"},
            "metadata": {
                "counters": {"TOTAL_ROWS": 1000, "CREATED_OBJECTS": 990, "UPDATED_OBJECTS": 10},
                "fileIds": ["162749384732"],
                "objectLists": [{"listId": "2001", "objectType": "CONTACT"}],
            },
        }
    ).encode()


def serve(polls: int, latency: float, cert: str | None = None, key: str | None = None) -> None:
    """Run the stand-in until killed; prints its port on the first line."""
    counts: dict[int, int] = {}
    served = 0

    class Handler(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            nonlocal served
            self.buffer += data
            while True:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
                path = head.split(b" ", 2)[1].split(b"?", 1)[0]
                if path == b"/__stats":
                    body = json.dumps({"requests": served}).encode()
                else:
                    served += 1
                    import_id = int(path.rsplit(b"/", 1)[1])
                    seen = counts[import_id] = counts.get(import_id, 0) + 1
                    body = record_json(import_id, "DONE" if seen >= polls else "PROCESSING")
                answer = (
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=utf-8\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                if latency:
                    asyncio.get_running_loop().call_later(latency, self.transport.write, answer)
                else:
                    self.transport.write(answer)

    async def main() -> None:
        tls = None
        if cert and key:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(cert, key)
        server = await asyncio.get_running_loop().create_server(
            Handler, "127.0.0.1", 0, backlog=4096, ssl=tls
        )
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(main())


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM), made with the openssl command."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    options = (
        "req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"
    )
    command = ["openssl", *options.split(), "-keyout", str(key), "-out", str(cert)]
    subprocess.run(command, check=True, capture_output=True)
    return cert, key


class StandIn:
    """The stand-in server in a child process; with `tls`, over HTTPS (`ca_file` is its certificate)."""

    def __init__(self, polls: int, latency: float = 0.0, tls: bool = False) -> None:
        self.command = [sys.executable, str(Path(__file__).resolve()), "--serve", str(polls), str(latency)]
        self.tls = tls
        self.ca_file: Path | None = None

    def __enter__(self) -> StandIn:
        scheme = "http"
        if self.tls:
            self.folder = Path(tempfile.mkdtemp(prefix="hubspot-floor-tls-"))
            self.ca_file, key = self_signed(self.folder)
            self.command += ["--tls-files", str(self.ca_file), str(key)]
            scheme = "https"
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        self.base_url = f"{scheme}://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc: Any) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def client_tls(self) -> ssl.SSLContext | None:
        return ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else None

    def requests(self) -> int:
        import urllib.request

        with urllib.request.urlopen(
            f"{self.base_url}/__stats", timeout=10, context=self.client_tls()
        ) as answer:
            return int(json.load(answer)["requests"])


# The stand-in's certificate, trusted by every client (None over plain HTTP); set by `prepare`.
CLIENT_TLS: ssl.SSLContext | None = None


def path_of(import_id: int) -> str:
    return f"/crm/imports/2026-03/{import_id}"


# ---- the clients: each runs `len(ids)` waits of `polls` polls and returns the polls made -----


async def run_raw(base_url: str, ids: range, polls: int, interval: float) -> int:
    host, port = "127.0.0.1", int(base_url.rsplit(":", 1)[1])
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(RAW_CONNECTIONS):
        idle.put_nowait(await asyncio.open_connection(host, port, ssl=CLIENT_TLS))
    done = 0

    async def wait(import_id: int) -> None:
        nonlocal done
        request = (
            f"GET {path_of(import_id)} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {TOKEN}\r\nAccept: application/json\r\n\r\n"
        ).encode()
        for poll in range(polls):
            reader, writer = await idle.get()
            try:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                start = head.lower().index(b"content-length:") + 15
                length = int(head[start : head.index(b"\r\n", start)])
                body = await reader.readexactly(length)
            finally:
                idle.put_nowait((reader, writer))
            json.loads(body)
            done += 1
            if poll < polls - 1:
                await asyncio.sleep(interval)

    await asyncio.gather(*(wait(import_id) for import_id in ids))
    while not idle.empty():
        idle.get_nowait()[1].close()
    return done


async def run_aiohttp(base_url: str, ids: range, polls: int, interval: float) -> int:
    import aiohttp

    done = 0
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}

    async def wait(session: aiohttp.ClientSession, import_id: int) -> None:
        nonlocal done
        url = f"{base_url}{path_of(import_id)}"
        for poll in range(polls):
            async with session.get(url, headers=headers) as response:
                json.loads(await response.read())
            done += 1
            if poll < polls - 1:
                await asyncio.sleep(interval)

    connector = aiohttp.TCPConnector(limit=RAW_CONNECTIONS, ssl=CLIENT_TLS or True)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(wait(session, import_id) for import_id in ids))
    return done


async def run_httpx(base_url: str, ids: range, polls: int, interval: float) -> int:
    import httpx

    done = 0
    gate = asyncio.Semaphore(RAW_CONNECTIONS)
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}

    async def wait(client: httpx.AsyncClient, import_id: int) -> None:
        nonlocal done
        url = f"{base_url}{path_of(import_id)}"
        for poll in range(polls):
            async with gate:
                response = await client.get(url, headers=headers)
            response.json()
            done += 1
            if poll < polls - 1:
                await asyncio.sleep(interval)

    limits = httpx.Limits(max_connections=RAW_CONNECTIONS, max_keepalive_connections=RAW_CONNECTIONS)
    async with httpx.AsyncClient(limits=limits, timeout=30.0, verify=CLIENT_TLS or True) as client:
        await asyncio.gather(*(wait(client, import_id) for import_id in ids))
    return done


async def run_client(base_url: str, ids: range, polls: int, interval: float) -> int:
    """The trigger's client alone: one `HubSpotAsyncClient` per wait, `get_import` per poll."""
    from airflow_provider_hubspot_imports.hooks.hubspot_async import HubSpotAsyncClient

    done = 0

    async def wait(import_id: int) -> None:
        nonlocal done
        async with HubSpotAsyncClient() as client:
            for poll in range(polls):
                await client.get_import(import_id)
                done += 1
                if poll < polls - 1:
                    await asyncio.sleep(interval)

    await asyncio.gather(*(wait(import_id) for import_id in ids))
    return done


async def run_triggers(base_url: str, ids: range, polls: int, interval: float) -> int:
    from airflow_provider_hubspot_imports.triggers.imports import ImportStateTrigger

    deadline = time.time() + 900
    # As a deferred sensor hands them over: its check before deferring logged PROCESSING.
    triggers = [
        ImportStateTrigger(
            import_id=import_id, poll_interval=interval, end_time=deadline, logged_state="PROCESSING"
        )
        for import_id in ids
    ]
    events = await asyncio.gather(*(anext(trigger.run()) for trigger in triggers))
    statuses = {event.payload["status"] for event in events}
    if statuses != {"succeeded"}:
        raise RuntimeError(f"not every trigger succeeded: {statuses} ({events[0].payload})")
    return len(ids) * polls  # the stand-in says DONE on each id's poll number `polls`


RUNNERS: dict[str, Callable[..., Any]] = {
    "raw": run_raw,
    "aiohttp": run_aiohttp,
    "httpx": run_httpx,
    "client": run_client,
    "trigger": run_triggers,
}


class Ids:
    """Fresh import ids for every run, so the stand-in's per-id poll count starts at 0."""

    def __init__(self) -> None:
        self.next = 1_000_000

    def take(self, count: int) -> range:
        taken = range(self.next, self.next + count)
        self.next += count
        return taken


def measure_once(server: StandIn, client: str, ids: range, polls: int, interval: float) -> dict[str, float]:
    before = server.requests()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    made = asyncio.run(RUNNERS[client](server.base_url, ids, polls, interval))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    served = server.requests() - before
    return {
        "cpu_ms_per_poll": cpu * 1000 / made,
        "cpu_s": cpu,
        "wall_s": wall,
        "polls": made,
        "requests_per_poll": served / made,
    }


def prepare(server: StandIn) -> None:
    """The trigger's connection points at the stand-in (trusting its certificate); every client
    trusts it too."""
    global CLIENT_TLS
    CLIENT_TLS = server.client_tls()
    conn: dict[str, Any] = {"conn_type": "hubspot", "host": server.base_url, "password": TOKEN}
    if server.ca_file:
        conn["extra"] = {"ca_bundle": str(server.ca_file)}
    os.environ["AIRFLOW_CONN_HUBSPOT_DEFAULT"] = json.dumps(conn)
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


def compare(
    counts: list[int],
    clients: list[str],
    polls: int,
    interval: float,
    rounds: int,
    say: Callable[[str], None],
    tls: bool = False,
) -> dict[str, Any]:
    """Every client at every count, `rounds` interleaved rounds; the lower CPU per poll of the rounds."""
    ids = Ids()
    results: dict[str, Any] = {}
    with StandIn(polls, tls=tls) as server:
        prepare(server)
        for client in clients:  # warm-up: imports, first-use caches
            measure_once(server, client, ids.take(20), polls, 0.01)
        for count in counts:
            runs: dict[str, list[dict[str, float]]] = {client: [] for client in clients}
            for round_number in range(rounds):
                order = clients[round_number % len(clients) :] + clients[: round_number % len(clients)]
                for client in order:
                    run = measure_once(server, client, ids.take(count), polls, interval)
                    runs[client].append(run)
                    say(
                        f"{count} waits, round {round_number + 1}, {client}: "
                        f"{run['cpu_ms_per_poll']:.3f} ms CPU per poll, {run['wall_s']:.1f} s"
                    )
            best = {client: min(runs[client], key=lambda run: run["cpu_ms_per_poll"]) for client in clients}
            results[str(count)] = {
                "best": best,
                "rounds": runs,
                "ratio_to_raw": {
                    client: best[client]["cpu_ms_per_poll"] / best["raw"]["cpu_ms_per_poll"]
                    for client in clients
                },
            }
    return results


def pool_sizes(
    sizes: list[int],
    counts: list[int],
    polls: int,
    interval: float,
    latency: float,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """ImportStateTrigger at several shared-pool sizes, against a stand-in answering after `latency` s:
    CPU per poll, and how long the first burst (every wait's first poll at once) takes to drain."""
    from airflow_provider_hubspot_imports.hooks import async_transport

    ids = Ids()
    original = async_transport.POOL_SIZE
    results: dict[str, Any] = {}
    try:
        with StandIn(polls, latency) as server:
            prepare(server)
            measure_once(server, "trigger", ids.take(20), polls, 0.01)
            for count in counts:
                for size in sizes:
                    async_transport.POOL_SIZE = size
                    burst = asyncio.run(first_burst(server.base_url, ids.take(count)))
                    run = measure_once(server, "trigger", ids.take(count), polls, interval)
                    run["first_burst_s"] = burst
                    results[f"{count}/{size}"] = {"waits": count, "pool_size": size, **run}
                    say(
                        f"{count} waits, pool {size}: {run['cpu_ms_per_poll']:.3f} ms CPU per poll, "
                        f"first burst drained in {burst:.2f} s, {run['wall_s']:.1f} s in all"
                    )
    finally:
        async_transport.POOL_SIZE = original
    return results


async def first_burst(base_url: str, ids: range) -> float:
    """Seconds for `len(ids)` clients of one loop to each read one record at the same moment."""
    from airflow_provider_hubspot_imports.hooks.hubspot_async import HubSpotAsyncClient

    async def one(import_id: int) -> None:
        async with HubSpotAsyncClient() as client:
            await client.get_import(import_id)

    started = time.perf_counter()
    await asyncio.gather(*(one(import_id) for import_id in ids))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 waits, no httpx (for CI)")
    parser.add_argument("--counts", default=None, help="concurrent waits, e.g. 300,1000")
    parser.add_argument("--clients", default=None, help=f"any of {','.join(CLIENTS)}")
    parser.add_argument("--polls", type=int, default=5)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pool-sizes", default=None, help="measure the trigger at these pool sizes instead")
    parser.add_argument("--latency", type=float, default=0.0, help="stand-in's answer delay (pool sizes)")
    parser.add_argument("--tls", action="store_true", help="the stand-in and every client over HTTPS")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--tls-files", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(int(args.serve[0]), float(args.serve[1]), *(args.tls_files or ()))
        return 0
    home = Path(tempfile.mkdtemp(prefix="hubspot-async-floor-"))
    os.environ.setdefault("AIRFLOW_HOME", str(home))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    counts = [int(n) for n in (args.counts or ("300" if args.quick else "300,1000")).split(",")]

    def say(text: str) -> None:
        print(f"  {text}", file=sys.stderr, flush=True)

    if args.pool_sizes:
        sizes = [int(n) for n in args.pool_sizes.split(",")]
        data: dict[str, Any] = {
            "kind": "pool_sizes",
            "polls": args.polls,
            "interval_s": args.interval,
            "latency_s": args.latency,
            "results": pool_sizes(sizes, counts, args.polls, args.interval, args.latency, say),
        }
    else:
        default = "raw,aiohttp,trigger" if args.quick else ",".join(CLIENTS)
        clients = (args.clients or default).split(",")
        results = compare(counts, clients, args.polls, args.interval, args.rounds, say, args.tls)
        data = {
            "kind": "clients",
            "tls": args.tls,
            "polls": args.polls,
            "interval_s": args.interval,
            "rounds": args.rounds,
            "results": results,
        }
        for count, found in results.items():
            over = "HTTPS" if args.tls else "plain HTTP"
            print(f"{count} concurrent waits over {over}, {args.polls} polls each, every {args.interval:g} s")
            for client in clients:
                best = found["best"][client]
                print(
                    f"  {client:<8} {best['cpu_ms_per_poll']:8.3f} ms CPU per poll "
                    f"({found['ratio_to_raw'][client]:5.2f}x raw), requests per poll "
                    f"{best['requests_per_poll']:.3f}, {best['wall_s']:.1f} s"
                )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(data, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
