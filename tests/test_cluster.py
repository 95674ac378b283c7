"""The pipeline on a real Spark standalone cluster (master + two workers on 127.0.0.1).

The daemons come from the installed pyspark (``bin/spark-class``), which ships a whole
Spark. The same landing zone is run once on the cluster and once on ``local[2]``, each in
its own ``python -m salesoptic run`` process, and every gold table must be the same.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from salesoptic.runtime.java import find_java
from salesoptic.runtime.spark import spark_home

WORKERS = 2
READY_TIMEOUT = 120  # seconds for the master and both workers (about 10 s when idle)
# Seconds for one pipeline run on tiny data: generous, the machine may be shared.
RUN_TIMEOUT = 600
# Per-run columns of the run bookkeeping in gold (ids, times): left out of the comparison.
PER_RUN_COLUMNS = {
    "data_quality": ("run_id",),
    "pipeline_runs": ("run_id", "started_at", "finished_at", "duration_s"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    master_url: str
    web_url: str
    marker: str


def master_state(web_url: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{web_url}/json/", timeout=3) as response:
            return json.load(response)
    except (OSError, ValueError):
        return None


def processes_with(marker: str) -> list[int]:
    """Pids whose environment holds ``marker``: the daemons and everything they started."""
    pids = []
    needle = marker.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def stop_group(process: subprocess.Popen) -> None:
    """Stop a daemon's process group (the daemon and its executors): TERM, then KILL."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass
    process.wait()


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A standalone master and two one-core workers on 127.0.0.1, stopped after."""
    root = tmp_path_factory.mktemp("cluster")
    port, web_port = free_port(), free_port()
    marker = uuid.uuid4().hex  # in the environment of the daemons and all they start
    env = {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "JAVA_HOME": str(find_java().home),
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_DIRS": str(root / "local"),
        "SPARK_DAEMON_JAVA_OPTS": "-XX:-UsePerfData",
        "CLUSTER_TEST_MARKER": marker,
    }
    spark_class = str(spark_home() / "bin" / "spark-class")
    master_url, web_url = f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{web_port}"
    commands = [
        [spark_class, "org.apache.spark.deploy.master.Master",
         "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(web_port)],
    ] + [
        [spark_class, "org.apache.spark.deploy.worker.Worker", master_url,
         "--cores", "1", "--memory", "1g", "--work-dir", str(root / f"work-{i}"),
         "--host", "127.0.0.1", "--webui-port", "0"]
        for i in range(WORKERS)
    ]  # fmt: skip
    daemons: list[subprocess.Popen] = []
    logs = [root / "master.log"] + [root / f"worker-{i}.log" for i in range(WORKERS)]
    try:
        for i, (command, log) in enumerate(zip(commands, logs, strict=True)):
            with log.open("wb") as out:
                daemon = subprocess.Popen(
                    command,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # its own process group: stopped as one
                )
            daemons.append(daemon)
            if i == 0:  # workers register faster with the master already up
                _wait_until(lambda: (master_state(web_url) or {}).get("status") == "ALIVE",
                            daemons, logs, "the master to be ALIVE")  # fmt: skip

        def two_workers() -> bool:
            state = master_state(web_url) or {}
            alive = [w for w in state.get("workers", []) if w.get("state") == "ALIVE"]
            return state.get("status") == "ALIVE" and len(alive) == WORKERS

        _wait_until(two_workers, daemons, logs, f"{WORKERS} workers to register")
        yield Cluster(master_url, web_url, marker)
    finally:
        for daemon in reversed(daemons):
            stop_group(daemon)
        deadline = time.monotonic() + 20
        while processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = processes_with(marker)
        for pid in left:  # never leave a daemon behind, even when the test failed
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert not left, f"Spark processes still running after the cluster stopped: {left}"


def _wait_until(ready, daemons, logs, what: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not ready():
        dead = [
            log for daemon, log in zip(daemons, logs, strict=False) if daemon.poll() is not None
        ]
        if dead:
            pytest.fail(f"A Spark daemon exited while waiting for {what}:\n{tail(dead[0])}")
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}:\n{tail(logs[0])}")
        time.sleep(0.5)


def run_cli(data_dir: Path, master: str, pg_url: str, timeout: float = RUN_TIMEOUT):
    """``python -m salesoptic run`` in a process of its own (its own Spark driver)."""
    env = {
        **os.environ,
        "SALESOPTIC_PG_URL": pg_url,
        "SALESOPTIC_DRIVER_MEMORY": "1g",
        "COLUMNS": "200",  # one line per message in the captured output
    }
    env.pop("PYSPARK_GATEWAY_PORT", None)  # never attach to the test session's JVM
    env.pop("PYSPARK_GATEWAY_SECRET", None)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "salesoptic", "run", "--data-dir", str(data_dir),
         "--spark-master", master],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the driver and its JVM
        stdout, stderr = process.communicate()
        pytest.fail(f"salesoptic run did not end within {timeout} s:\n{stderr[-2000:]}")
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return result, time.monotonic() - started


def gold_tables(data_dir: Path) -> dict[str, Path]:
    current = data_dir / "gold" / "current"
    tables = {p.name: p for p in sorted(current.iterdir()) if p.is_dir() and p.name[0] != "_"}
    parts = current / "_parts"
    return {**tables, **{f"_parts/{p.name}": p for p in sorted(parts.iterdir())}}


def read_sorted(path: Path, drop: tuple[str, ...] = ()):
    """A gold table as a pandas frame with its rows in a canonical order."""
    import duckdb

    with duckdb.connect() as con:
        frame = con.execute(
            "SELECT * FROM read_parquet(?, union_by_name = true)", [f"{path}/**/*.parquet"]
        ).df()
    frame = frame.drop(columns=[c for c in drop if c in frame.columns])
    columns = sorted(frame.columns)
    frame = frame[columns]
    return frame.sort_values(columns, na_position="first", kind="mergesort").reset_index(drop=True)


def test_compose_master_health_check_on_a_real_master(cluster: Cluster) -> None:
    """docker-compose.yml's health check of spark-master, run against a real master."""
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((Path(__file__).parents[1] / "docker-compose.yml").read_text())
    code = compose["services"]["spark-master"]["healthcheck"]["test"][-1]
    assert "http://127.0.0.1:8080" in code
    code = code.replace("http://127.0.0.1:8080", cluster.web_url)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.timeout(2 * RUN_TIMEOUT + 300)
def test_gold_on_a_standalone_cluster_equals_local(
    cluster: Cluster, pg_url: str, tmp_path: Path
) -> None:
    import pandas as pd

    from salesoptic.generate import GenerateSpec, generate

    on_cluster, on_local = tmp_path / "cluster", tmp_path / "local"
    spec = GenerateSpec.from_options("tiny", seed=8, defect_rate=0.1)
    generate(spec, on_cluster / "source", pg_url)
    shutil.copytree(on_cluster / "source", on_local / "source")

    result, seconds = run_cli(on_cluster, cluster.master_url, pg_url)
    assert result.returncode == 0, result.stderr[-3000:]
    state = master_state(cluster.web_url) or {}
    apps = state.get("completedapps", []) + state.get("activeapps", [])
    assert any(a.get("name", "").startswith("salesoptic-run-") for a in apps), (
        "the run did not register with the standalone master"
    )
    result, _ = run_cli(on_local, "local[2]", pg_url)
    assert result.returncode == 0, result.stderr[-3000:]

    cluster_tables, local_tables = gold_tables(on_cluster), gold_tables(on_local)
    assert cluster_tables.keys() == local_tables.keys()
    assert {"data_quality", "pipeline_runs"} <= cluster_tables.keys()
    for name, path in cluster_tables.items():
        drop = PER_RUN_COLUMNS.get(name, ())
        got, expected = read_sorted(path, drop), read_sorted(local_tables[name], drop)
        assert len(got) > 0, f"gold table {name} is empty"
        pd.testing.assert_frame_equal(got, expected, check_exact=True, obj=f"gold.{name}")
    print(f"cluster run: {seconds:.1f} s; {len(cluster_tables)} gold tables identical")


def test_unreachable_master_fails_fast_with_one_sentence(pg_url: str, tmp_path: Path) -> None:
    port = free_port()  # closed again: nothing listens there
    master = f"spark://127.0.0.1:{port}"
    result, seconds = run_cli(tmp_path / "data", master, pg_url, timeout=120)
    assert result.returncode == 1
    assert seconds < 60
    message = result.stderr.strip()
    assert message == (
        f"Error: The Spark master {master} does not answer; start it or check --spark-master."
    ), message
    assert "Traceback" not in result.stderr + result.stdout
    runs = list((tmp_path / "data" / "_state" / "runs").glob("*.json"))
    assert len(runs) == 1
    record = json.loads(runs[0].read_text())
    assert record["status"] == "failed"
    assert "does not answer" in record["error"]


@pytest.mark.slow
def test_a_port_that_is_no_spark_master_fails_with_one_sentence(
    pg_url: str, tmp_path: Path
) -> None:
    """Something accepts connections but never answers: Spark gives up after 3 x 20 s."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    master = f"spark://127.0.0.1:{listener.getsockname()[1]}"
    try:
        result, seconds = run_cli(tmp_path / "data", master, pg_url, timeout=180)
    finally:
        listener.close()
    assert result.returncode == 1
    assert seconds < 120
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        f"Error: The Spark master {master} did not register the application; check that a "
        "Spark 4 master listens there and that --spark-master names it."
    ), result.stderr[-2000:]
    assert "Traceback" not in result.stderr + result.stdout
