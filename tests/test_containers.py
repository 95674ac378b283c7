"""Offline checks of docker-compose.yml, the Dockerfile and .env.example.

No Docker engine runs here: the compose file is checked against the compose-spec JSON
schema (check-jsonschema), by Docker Compose v1's own parser (`docker-compose config`),
and by the structural assertions below; the Dockerfile by its instructions.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
SERVICES = {"postgres", "generator", "spark-master", "spark-worker", "pipeline", "dashboard"}
SALESOPTIC_SERVICES = SERVICES - {"postgres"}
MASTER_URL = "spark://spark-master:7077"
DATA_DIR = "/data"
TEST_PASSWORD = "not-a-real-password-7f3a"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def command(service: dict) -> str:
    cmd = service.get("command", "")
    return " ".join(cmd) if isinstance(cmd, list) else cmd


def conditions(service: dict) -> dict[str, str]:
    return {name: dep["condition"] for name, dep in service.get("depends_on", {}).items()}


def empty_env_file(tmp_path: Path) -> Path:
    """An empty env file, so that a developer's own .env never changes the outcome."""
    path = tmp_path / "empty.env"
    path.write_text("")
    return path


# --- schema and parser ---------------------------------------------------------------


def test_compose_file_matches_the_compose_spec_schema() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
         str(COMPOSE)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def _docker_compose() -> str:
    path = shutil.which("docker-compose")
    # `make test` installs it when run as root on Debian (apt: docker-compose).
    assert path is not None, "docker-compose (Debian package docker-compose) is not installed"
    return path


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    env = {**os.environ, "POSTGRES_PASSWORD": TEST_PASSWORD}
    result = subprocess.run(
        [_docker_compose(), "--env-file", str(empty_env_file(tmp_path)), "-f", str(COMPOSE),
         "config"],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) == SERVICES
    # The password reaches the services only through interpolation of the environment.
    pipeline_env = resolved["services"]["pipeline"]["environment"]
    assert pipeline_env["SALESOPTIC_PG_URL"] == (
        f"postgresql://salesoptic:{TEST_PASSWORD}@postgres:5432/salesoptic"
    )
    assert resolved["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == TEST_PASSWORD


def test_docker_compose_config_refuses_a_missing_password(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "POSTGRES_PASSWORD"}
    result = subprocess.run(
        [_docker_compose(), "--env-file", str(empty_env_file(tmp_path)), "-f", str(COMPOSE),
         "config", "-q"],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in result.stderr


# --- structure -----------------------------------------------------------------------


def test_every_service_is_there(services: dict) -> None:
    assert set(services) == SERVICES


def test_postgres_is_the_official_image_with_a_health_check(services: dict) -> None:
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert set(postgres["environment"]) >= {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}


def test_start_order(services: dict) -> None:
    assert conditions(services["generator"]) == {"postgres": "service_healthy"}
    assert conditions(services["pipeline"]) == {
        "postgres": "service_healthy",
        "generator": "service_completed_successfully",
        "spark-master": "service_healthy",
    }
    assert conditions(services["spark-worker"]) == {"spark-master": "service_started"}
    assert conditions(services["dashboard"]) == {"pipeline": "service_completed_successfully"}
    assert "healthcheck" in services["spark-master"]
    for one_shot in ("generator", "pipeline"):
        assert services[one_shot].get("restart") == "no"


def test_commands(services: dict) -> None:
    assert "salesoptic generate --scale" in command(services["generator"])
    assert command(services["pipeline"]) == f"salesoptic run --spark-master {MASTER_URL}"
    assert command(services["spark-master"]).startswith(
        "spark-class org.apache.spark.deploy.master.Master --host spark-master --port 7077"
    )
    assert command(services["spark-worker"]) == (
        f"spark-class org.apache.spark.deploy.worker.Worker {MASTER_URL}"
    )
    assert command(services["dashboard"]) == "salesoptic dashboard --host 0.0.0.0 --port 8501"


def test_generator_script_is_valid_shell(services: dict) -> None:
    script = services["generator"]["command"][-1].replace("${SCALE:-small}", "small")
    result = subprocess.run(["sh", "-n", "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_master_health_check_is_valid_python(services: dict) -> None:
    test = services["spark-master"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    compile(test[3], "healthcheck", "exec")


def test_workers_scale(services: dict) -> None:
    worker = services["spark-worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    assert "hostname" not in worker


def test_published_ports_are_on_loopback_only(services: dict) -> None:
    assert services["dashboard"]["ports"] == ["127.0.0.1:8501:8501"]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_one_shared_data_volume_at_the_same_path(compose: dict, services: dict) -> None:
    for name in SALESOPTIC_SERVICES:
        service = services[name]
        assert f"salesoptic-data:{DATA_DIR}" in service["volumes"], name
        assert service["image"] == "salesoptic:latest", name
        assert service["build"]["context"] == ".", name
    assert "salesoptic-data" in compose["volumes"]
    assert re.search(rf"^\s*SALESOPTIC_DATA_DIR={DATA_DIR}\b", DOCKERFILE.read_text(), re.M)


def test_no_password_literal_in_the_compose_file(services: dict) -> None:
    text = COMPOSE.read_text()
    # Every secret in a URL is an interpolated variable that must be set.
    part = r"(?:\$\{[^}]*\}|[^:/@\s]+)"
    secrets = re.findall(rf"postgres(?:ql)?://{part}:({part})@", text)
    assert secrets
    assert all(s.startswith("${POSTGRES_PASSWORD:?") for s in secrets), secrets
    for name, service in services.items():
        env = service.get("environment", {})
        assert isinstance(env, dict), f"{name}: use a mapping for environment"
        for key, value in env.items():
            if "PASSWORD" in key or "PG_URL" in key:
                assert "${POSTGRES_PASSWORD:?" in str(value), f"{name}.{key}"
    # Secrets never travel on a command line (visible in `ps`).
    for name, service in services.items():
        assert "--pg-url" not in command(service), name


def test_env_example_lists_every_variable_without_a_password(services: dict) -> None:
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    )
    used = set(re.findall(r"\$\{([A-Z_]+)[:}]", COMPOSE.read_text()))
    assert used <= set(example), used - set(example)
    assert example["POSTGRES_PASSWORD"] == ""
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


# --- Dockerfile ----------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        current += " " + stripped.removesuffix("\\").strip() if current else stripped
        if not stripped.endswith("\\"):
            logical.append(current)
            current = ""
    assert not current, "a continuation line ends the Dockerfile"
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in logical]


def test_dockerfile_instructions_are_known() -> None:
    known = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
             "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK",
             "SHELL"}  # fmt: skip
    instructions = dockerfile_instructions()
    assert {name for name, _ in instructions} <= known
    assert instructions[0] == ("FROM", "python:3.11-slim-bookworm")


def test_dockerfile_installs_java_the_jdbc_driver_and_the_package() -> None:
    runs = " ".join(args for name, args in dockerfile_instructions() if name == "RUN")
    assert re.search(r"apt-get install [^&]*openjdk-17-jre-headless", runs)
    assert re.search(r"apt-get install [^&]*libpostgresql-jdbc-java", runs)
    assert "--no-install-recommends" in runs
    assert re.search(r"pip install (--no-deps )?\.(\s|$)", runs)
    env = " ".join(args for name, args in dockerfile_instructions() if name == "ENV")
    for variable in ("JAVA_HOME=", "SPARK_HOME=", "SALESOPTIC_JDBC_JAR=/usr/share/java/"):
        assert variable in env


def test_dockerfile_runs_as_an_unprivileged_user() -> None:
    users = [args for name, args in dockerfile_instructions() if name == "USER"]
    assert users and users[-1] not in ("root", "0")


def test_dockerignore_keeps_secrets_and_data_out_of_the_image() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert lines[lines.index("*")] == "*"  # everything is excluded, then a few re-included
    assert {"!pyproject.toml", "!README.md", "!src/"} <= set(lines)
    assert not any(line.startswith("!.env") or line.startswith("!data") for line in lines)
