"""The deployment: PostgreSQL, Redis, the emulator and seven Airflow components on 127.0.0.1.

`Deployment.up()` starts everything from an installed venv (see install.py) into a run folder;
its state (ports, PIDs with start times, the environment) is written to ``state.json`` there so
that the scenarios, and ``harness.py down``, can kill, restart and stop components by PID.
Standard library only: the harness runs it with the system Python.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from processes import Launched, is_alive, kill_session, launch, session_members, stop

DEPLOY = Path(__file__).resolve().parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
DAG_IDS = (
    "hubspot_deferred_wait",
    "hubspot_reschedule_wait",
    "hubspot_oauth_wait",
    "hubspot_start_deferred",
    "hubspot_start_worker",
    "hubspot_deadline_margin",
)
TRIGGERERS = ("triggerer-1", "triggerer-2")
WORKERS = ("worker-1", "worker-2")
AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", *TRIGGERERS, *WORKERS)
# `[scheduler] trigger_timeout_check_interval` of the whole deployment (Airflow's default is 15 s):
# the scheduler ends deferrals past their timeout within a second, as in the report of the race
# between a trigger's deadline and the scheduler's check. The workers read it too: it sets the
# margin of `defer(timeout=...)` (`waiting.deferral_timeout`).
TRIGGER_TIMEOUT_CHECK_INTERVAL = 1
# A connection whose one poll is bounded by a few seconds (its `timeout` plus `retry_max_seconds`):
# the margin after a trigger's deadline is then seconds, not minutes (the deadline scenario).
QUICK_POLLS_CONN_ID = "hubspot_quick_polls"
QUICK_POLLS_EXTRAS = {"timeout": 3, "retry_max_seconds": 2}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def say(message: str) -> None:
    print(f"[deploy {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Deployment:
    """One run folder: its ports, secrets, component PIDs, and how to start each component again."""

    def __init__(self, run: Path, state: dict[str, Any]) -> None:
        self.run = run
        self.state = state

    # ---- state ---------------------------------------------------------------------------------

    @classmethod
    def create(cls, run: Path, python: Path, quick: bool) -> Deployment:
        run.mkdir(parents=True)
        ports = {name: free_port() for name in ("postgres", "redis", "api", "emulator", "emulator_control")}
        state: dict[str, Any] = {
            "python": str(python),
            "quick": quick,
            "ports": ports,
            "db_password": secrets.token_hex(16),
            "emulator_authkey": secrets.token_hex(16),
            "components": {},
            "timings": {},
        }
        return cls(run, state)

    @classmethod
    def load(cls, run: Path) -> Deployment:
        return cls(run, json.loads((run / "state.json").read_text()))

    def save(self) -> None:
        tmp = self.run / "state.json.tmp"
        tmp.write_text(json.dumps(self.state, indent=2))
        tmp.replace(self.run / "state.json")

    @property
    def logs(self) -> Path:
        return self.run / "logs"

    @property
    def python(self) -> Path:
        return Path(self.state["python"])

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.state['ports']['api']}"

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.state['ports']['emulator']}"

    @property
    def connections_file(self) -> Path:
        return self.run / "secrets" / "connections.json"

    def launched(self, name: str) -> Launched:
        return Launched(**self.state["components"][name]["launched"])

    def record(
        self, name: str, argv: list[str], launched: Launched, env: dict[str, str] | None = None
    ) -> None:
        self.state["components"][name] = {"argv": argv, "launched": launched.to_json(), "env": env}
        self.save()

    # ---- PostgreSQL ----------------------------------------------------------------------------

    def _pg_dirs(self) -> tuple[Path, Path]:
        return self.run / "pgdata", self.run / "pgsock"

    def psql(self, sql: str, database: str = "airflow") -> list[list[str]]:
        """Rows of `sql` run as the superuser over the private unix socket (trust)."""
        _, sock = self._pg_dirs()
        out = subprocess.run(
            [
                str(PG_BIN / "psql"),
                "-h",
                str(sock),
                "-p",
                str(self.state["ports"]["postgres"]),
                "-U",
                "postgres",
                "-d",
                database,
                "-X",
                "-A",
                "-t",
                "-F",
                "\t",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"psql failed: {out.stderr.strip()}")
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def start_postgres(self) -> None:
        data, sock = self._pg_dirs()
        for folder in (data, sock):
            folder.mkdir(mode=0o700)
            shutil.chown(folder, "postgres", "postgres")
        as_postgres: dict[str, Any] = {"user": "postgres", "group": "postgres", "extra_groups": []}
        pw_file = self.run / "pgpass-init"
        pw_file.write_text(self.state["db_password"] + "\n")
        shutil.chown(pw_file, "postgres", "postgres")
        subprocess.run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            **as_postgres,
        )
        pw_file.unlink()
        argv = [
            str(PG_BIN / "postgres"),
            "-D",
            str(data),
            "-k",
            str(sock),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.state["ports"]["postgres"]),
            # A throw-away cluster: no need to wait for the disk of a shared machine.
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
        ]
        log = self.logs / "postgres.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.touch()
        shutil.chown(log, "postgres", "postgres")
        launched = _launch_as_postgres("postgres", argv, log)
        self.record("postgres", argv, launched)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.psql("SELECT 1", database="postgres")
                break
            except RuntimeError:
                if time.monotonic() > deadline or not is_alive(launched):
                    raise RuntimeError(f"PostgreSQL did not start; see {log}") from None
                time.sleep(0.3)
        password = self.state["db_password"]
        self.psql(f"CREATE ROLE airflow LOGIN PASSWORD '{password}'", database="postgres")
        self.psql("CREATE DATABASE airflow OWNER airflow", database="postgres")

    # ---- Redis and the emulator ----------------------------------------------------------------

    def start_redis(self) -> None:
        redis = shutil.which("redis-server") or "/usr/bin/redis-server"
        argv = [
            redis,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.state["ports"]["redis"]),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            str(self.run),
        ]
        self.record("redis", argv, launch("redis", argv, dict(os.environ), self.logs / "redis.log"))
        _wait_for_port(self.state["ports"]["redis"], "redis", self.launched("redis"))

    def start_emulator(self, token: str) -> None:
        argv = [
            str(self.python),
            str(DEPLOY / "emulator_service.py"),
            "--port",
            str(self.state["ports"]["emulator"]),
            "--control-port",
            str(self.state["ports"]["emulator_control"]),
        ]
        env = {
            **os.environ,
            "HUBSPOT_EMULATOR_AUTHKEY": self.state["emulator_authkey"],
            "HUBSPOT_EMULATOR_TOKEN": token,
        }
        self.record("emulator", argv, launch("emulator", argv, env, self.logs / "emulator.log"))
        _wait_for_port(self.state["ports"]["emulator_control"], "emulator", self.launched("emulator"))

    def write_connections(self, token: str, oauth: dict[str, str] | None = None) -> None:
        """Write the connections the secrets backend serves (atomically): hubspot_default and
        QUICK_POLLS_CONN_ID with a static token and, given OAuth extras, hubspot_oauth."""
        connections: dict[str, Any] = {
            "hubspot_default": {"conn_type": "hubspot", "host": self.emulator_url, "password": token},
            QUICK_POLLS_CONN_ID: {
                "conn_type": "hubspot",
                "host": self.emulator_url,
                "password": token,
                "extra": QUICK_POLLS_EXTRAS,
            },
        }
        if oauth:
            connections["hubspot_oauth"] = {"conn_type": "hubspot", "host": self.emulator_url, "extra": oauth}
        self.connections_file.parent.mkdir(exist_ok=True)
        tmp = self.connections_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(connections))
        tmp.chmod(0o600)
        tmp.replace(self.connections_file)

    # ---- Airflow -------------------------------------------------------------------------------

    def airflow_env(self) -> dict[str, str]:
        """The one configuration every Airflow component shares (as AIRFLOW__ variables)."""
        if "airflow_env" in self.state:
            return dict(self.state["airflow_env"])
        ports, password = self.state["ports"], self.state["db_password"]
        db = f"airflow:{password}@127.0.0.1:{ports['postgres']}/airflow"
        home = self.run / "airflow-home"
        env = {
            "AIRFLOW_HOME": str(home),
            "PYTHONPATH": str(DEPLOY / "runtime"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.run / "dags"),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "component_hostname.hostname",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__PARALLELISM": "256",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{db}",
            "AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS": "False",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(ports["api"]),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(64),
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{ports['redis']}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{db}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "45",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__TRIGGER_TIMEOUT_CHECK_INTERVAL": str(TRIGGER_TIMEOUT_CHECK_INTERVAL),
            "AIRFLOW__SECRETS__BACKEND": "airflow.secrets.local_filesystem.LocalFilesystemBackend",
            "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(
                {"connections_file_path": str(self.connections_file)}
            ),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.run / "task-logs"),
            "AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY": str(
                self.run / "task-logs" / "dag-processor"
            ),
        }
        self.state["airflow_env"] = env
        self.save()
        return dict(env)

    def airflow_argv(self, component: str) -> list[str]:
        airflow = str(self.python.with_name("airflow"))
        if component in TRIGGERERS:
            return [airflow, "triggerer", "--skip-serve-logs"]
        if component in WORKERS:
            return [
                airflow,
                "celery",
                "worker",
                "--celery-hostname",
                f"{component}@127.0.0.1",
                "--concurrency",
                "2",
                "--skip-serve-logs",
            ]
        if component == "scheduler":
            return [airflow, "scheduler", "--skip-serve-logs"]
        return [airflow, component]

    def _env_for(self, component: str) -> dict[str, str]:
        base = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
        return {**base, **self.airflow_env(), "HUBSPOT_DEPLOY_COMPONENT": component}

    def migrate(self) -> None:
        (self.run / "dags").mkdir(exist_ok=True)
        for dag_file in (DEPLOY / "dags").glob("*.py"):
            shutil.copy(dag_file, self.run / "dags" / dag_file.name)
        log = self.logs / "db-migrate.log"
        with log.open("ab") as out:
            result = subprocess.run(
                [str(self.python.with_name("airflow")), "db", "migrate"],
                env=self._env_for("db-migrate"),
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if result.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed; see {log}")

    def start_component(self, component: str) -> Launched:
        argv = self.airflow_argv(component)
        launched = launch(component, argv, self._env_for(component), self.logs / f"{component}.log")
        self.record(component, argv, launched)
        return launched

    def kill(self, component: str, sig: int = signal.SIGKILL) -> list[int]:
        """Kill the component's whole session (what a node or pod dying does); returns the PIDs."""
        return kill_session(self.launched(component), sig)

    # ---- readiness -----------------------------------------------------------------------------

    def get_json(self, path: str, timeout: float = 10.0) -> Any:
        with urllib.request.urlopen(f"{self.api_url}{path}", timeout=timeout) as answer:
            return json.loads(answer.read())

    def live_jobs(self, job_type: str, started_after: float | None = None) -> list[str]:
        """Hostnames of jobs of `job_type` that heartbeated in the last 30 s (and, given
        `started_after` in epoch seconds, started after it: not a killed component's last row)."""
        since = "" if started_after is None else f" AND start_date > to_timestamp({started_after:.3f})"
        rows = self.psql(
            "SELECT hostname FROM job WHERE job_type = '"
            + job_type
            + "' AND state = 'running' AND latest_heartbeat > now() - interval '30 seconds'"
            + since
        )
        return sorted(row[0] for row in rows)

    def not_ready(self) -> list[str]:
        """What is not ready yet (empty: everything is)."""
        missing = []
        try:
            health = self.get_json("/api/v2/monitor/health", timeout=5)
            self.get_json("/execution/health", timeout=5)
        except (OSError, urllib.error.URLError, ValueError):
            return ["api-server"]
        for part in ("metadatabase", "scheduler", "triggerer", "dag_processor"):
            if (health.get(part) or {}).get("status") != "healthy":
                missing.append(part)
        triggerers = self.live_jobs("TriggererJob")
        missing += [name for name in TRIGGERERS if name not in triggerers]
        for worker in WORKERS:
            if b" ready." not in Path(self.logs / f"{worker}.log").read_bytes():
                missing.append(worker)
        parsed = {row[0] for row in self.psql("SELECT dag_id FROM dag WHERE is_stale IS NOT TRUE")}
        missing += [dag_id for dag_id in DAG_IDS if dag_id not in parsed]
        return missing

    def wait_ready(self, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        missing: list[str] = []
        while time.monotonic() < deadline:
            for name in self.state["components"]:
                if not is_alive(self.launched(name)):
                    raise RuntimeError(f"{name} exited; see {self.logs / (name + '.log')}")
            try:
                missing = self.not_ready()
            except RuntimeError as error:  # the dag table before the first parse, etc.
                missing = [str(error)]
            if not missing:
                return
            time.sleep(1)
        raise RuntimeError(f"not ready after {timeout:.0f} s: {missing}")

    # ---- whole deployment ----------------------------------------------------------------------

    def up(self, token: str) -> None:
        started = time.monotonic()
        self.save()
        say(f"run folder {self.run}")
        self.start_postgres()
        self.start_redis()
        self.state["token"] = token
        self.start_emulator(token)
        self.write_connections(token)
        timings = self.state["timings"]
        timings["services_s"] = round(time.monotonic() - started, 1)
        say("PostgreSQL, Redis and the emulator are up; migrating the metadata database")
        self.migrate()
        timings["db_migrate_s"] = round(time.monotonic() - started - timings["services_s"], 1)
        for component in AIRFLOW_COMPONENTS:
            self.start_component(component)
        self.wait_ready()
        timings["startup_s"] = round(time.monotonic() - started, 1)
        self.save()
        say(f"all components ready in {timings['startup_s']} s; API {self.api_url}")

    def all_pids(self) -> list[int]:
        pids: list[int] = []
        for name in self.state["components"]:
            pids += session_members(self.launched(name).pid)
        return pids

    def down(self) -> None:
        # Airflow first (it holds database connections), then the services.
        order = [name for name in self.state["components"] if name in AIRFLOW_COMPONENTS]
        order += [name for name in ("emulator", "redis", "postgres") if name in self.state["components"]]
        for name in order:
            stop(self.launched(name))
        # A throw-away cluster: the logs stay, the data files go.
        shutil.rmtree(self.run / "pgdata", ignore_errors=True)


def _launch_as_postgres(name: str, argv: list[str], log: Path) -> Launched:
    """Like processes.launch, as the postgres system user (PostgreSQL refuses to run as root)."""
    from processes import start_ticks

    with log.open("ab") as out:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user="postgres",
            group="postgres",
            extra_groups=[],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"},
        )
    ticks = start_ticks(process.pid)
    if ticks is None:
        raise RuntimeError(f"{name} exited at once; see {log}")
    return Launched(name, process.pid, ticks, str(log))


def _wait_for_port(port: int, name: str, launched: Launched, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(launched):
            raise RuntimeError(f"{name} exited; see {launched.log}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{name} does not listen on 127.0.0.1:{port} after {timeout:.0f} s")
