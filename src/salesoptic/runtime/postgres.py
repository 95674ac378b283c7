"""The embedded PostgreSQL server: a real server on 127.0.0.1, files under data/_state/.

Used whenever no ``--pg-url`` is given. The server runs detached (like any database
server) and keeps running between commands until ``salesoptic db stop``. PostgreSQL
refuses to run as root, so when we are root the server runs as an unprivileged user.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from salesoptic.config import Settings
from salesoptic.errors import UserError
from salesoptic.runtime.pgurl import PgUrl, parse_pg_url
from salesoptic.runtime.processes import process_alive

USER = "salesoptic"
DATABASE = "salesoptic"
START_TIMEOUT_S = 60


def find_pg_bin() -> Path:
    """The folder of the PostgreSQL server binaries (initdb, pg_ctl, postgres).

    The system's installation first (Debian's /usr/lib/postgresql/<major>/bin, then
    pg_ctl on PATH), else the binaries bundled in the PyPI package ``pgserver``.
    """
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    for folder in [*candidates, _pgserver_bin()]:
        if folder and all((Path(folder) / t).exists() for t in ("initdb", "pg_ctl", "postgres")):
            return Path(folder)
    raise UserError(
        "No PostgreSQL server binaries were found; install the Python package pgserver "
        "or the system's postgresql package, or pass --pg-url."
    )


def _pgserver_bin() -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pgserver's import warns about XDG_RUNTIME_DIR
            from pgserver._commands import POSTGRES_BIN_PATH
    except Exception:
        return None
    return str(POSTGRES_BIN_PATH)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As PostgreSQL does: a port in TIME_WAIT after our own stop is free to reuse.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _pid_is_postgres(pid: int) -> bool:
    if not process_alive(pid):
        return False
    proc = Path(f"/proc/{pid}")
    if not proc.exists():
        return True  # no /proc to ask: trust the signal
    try:
        comm = (proc / "comm").read_text().strip()
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    # A zombie has exited; only its parent has not collected it yet.
    return comm in ("postgres", "postmaster") and state != "Z"


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    port: int | None
    initialised: bool


class EmbeddedPostgres:
    """A PostgreSQL cluster in ``root`` (normally ``data/_state/postgres``)."""

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.pgdata = self.root / "pgdata"
        self.log_file = self.root / "server.log"
        self.config_file = self.root / "server.json"
        self._os_user = _server_os_user()

    # -- public ---------------------------------------------------------------

    def start(self) -> PgUrl:
        """Start the server (initialising it on first use); return its URL. Idempotent."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock():
            config = self._read_config() or self._initialise()
            current = self.status()
            if current.running:
                return self._url(config)
            self._remove_stale_pid_file()
            port = config["port"] if _port_is_free(config["port"]) else free_port()
            config["port"] = port
            self._write_config(config)
            self._run(
                [
                    self._tool(config, "pg_ctl"),
                    "start",
                    "-D",
                    str(self.pgdata),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    str(START_TIMEOUT_S),
                    "-o",
                    f"-p {port}",
                ],
                what="start",
            )
            url = self._url(config)
            self._ensure_database(url)
            return url

    def stop(self) -> bool:
        """Stop the server (fast shutdown, as ``pg_ctl stop -m fast``); True if it ran."""
        status = self.status()
        if not status.running or status.pid is None:
            self._remove_stale_pid_file()
            return False
        # Signalling the postmaster needs no access to its files, unlike pg_ctl.
        for sig, wait_s in ((signal.SIGINT, START_TIMEOUT_S), (signal.SIGQUIT, 10)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(status.pid, sig)
            deadline = time.monotonic() + wait_s
            while _pid_is_postgres(status.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not _pid_is_postgres(status.pid):
                return True
        raise UserError(f"The embedded PostgreSQL server (pid {status.pid}) did not stop.")

    def status(self) -> ServerStatus:
        config = self._read_config()
        pid = self._postmaster_pid()
        running = pid is not None and _pid_is_postgres(pid)
        return ServerStatus(
            running=running,
            pid=pid if running else None,
            port=config["port"] if config else None,
            initialised=config is not None,
        )

    def url(self) -> PgUrl:
        """The URL of an initialised server (running or not)."""
        config = self._read_config()
        if config is None:
            raise UserError(
                "The embedded PostgreSQL server has not been created yet; "
                "run `salesoptic db start`."
            )
        return self._url(config)

    # -- internals ------------------------------------------------------------

    def _initialise(self) -> dict:
        bin_dir = find_pg_bin()
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)
        self.pgdata.mkdir(mode=0o700)
        password = secrets.token_urlsafe(24)
        pwfile = self.root / ".pwfile"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        self._hand_over(bin_dir)
        try:
            self._run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    USER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                what="initialise",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            # TCP on loopback only; no unix socket, whose path length limit long data
            # directories would exceed.
            conf.write(
                "\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\ntimezone = 'UTC'\n"
            )
        config = {
            "bin_dir": str(bin_dir),
            "user": USER,
            "password": password,
            "database": DATABASE,
            "port": free_port(),
        }
        self._write_config(config)
        return config

    def _hand_over(self, bin_dir: Path) -> None:
        """When root, give the cluster folder to the server's user and make it reachable."""
        if self._os_user is None:
            return
        uid, gid = self._os_user.pw_uid, self._os_user.pw_gid
        for path in [self.root, *self.root.rglob("*")]:
            os.chown(path, uid, gid)
        for target in (self.root, bin_dir):
            for ancestor in target.parents:
                mode = ancestor.stat().st_mode
                if not mode & stat.S_IXOTH:
                    # Search permission only (no listing), so the server's user can
                    # reach its files.
                    ancestor.chmod(mode | stat.S_IXOTH)

    def _run(self, argv: list[str], what: str) -> None:
        kwargs: dict = {}
        if self._os_user is not None:
            kwargs = {"user": self._os_user.pw_uid, "group": self._os_user.pw_gid}
        env = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
        if self._os_user is not None:
            env["HOME"] = str(self.root)
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=env,
            cwd=self.root,
            check=False,
            timeout=START_TIMEOUT_S + 30,
            **kwargs,
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            last = detail[-1] if detail else f"exit code {result.returncode}"
            raise UserError(
                f"The embedded PostgreSQL server could not {what} ({last}); see {self.log_file}."
            )

    def _ensure_database(self, url: PgUrl) -> None:
        import psycopg

        admin = PgUrl(url.host, url.port, "postgres", url.user, url.password)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with psycopg.connect(admin.url, autocommit=True, connect_timeout=5) as conn:
                    exists = conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)
                    ).fetchone()
                    if not exists:
                        conn.execute(f'CREATE DATABASE "{url.database}"')
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise UserError(
                        f"The embedded PostgreSQL server started but refuses connections; "
                        f"see {self.log_file}."
                    ) from None
                time.sleep(0.2)

    def _remove_stale_pid_file(self) -> None:
        pid = self._postmaster_pid()
        if pid is not None and not _pid_is_postgres(pid):
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)

    def _postmaster_pid(self) -> int | None:
        pid_file = self.pgdata / "postmaster.pid"
        try:
            first = pid_file.read_text().splitlines()[0]
            return int(first.strip())
        except (OSError, IndexError, ValueError):
            return None

    def _tool(self, config: dict, name: str) -> str:
        recorded = Path(config["bin_dir"]) / name
        return str(recorded if recorded.exists() else find_pg_bin() / name)

    def _url(self, config: dict) -> PgUrl:
        return PgUrl(
            "127.0.0.1", config["port"], config["database"], config["user"], config["password"]
        )

    def _read_config(self) -> dict | None:
        try:
            config = json.loads(self.config_file.read_text())
        except (OSError, ValueError):
            return None
        return config if (self.pgdata / "PG_VERSION").exists() else None

    def _write_config(self, config: dict) -> None:
        tmp = self.config_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(config, indent=2))
        tmp.chmod(0o600)
        tmp.replace(self.config_file)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        with (self.root / ".start.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _server_os_user() -> pwd.struct_passwd | None:
    """The unprivileged user the server runs as when we are root; None otherwise."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise UserError(
        "PostgreSQL cannot run as root and no unprivileged user (postgres, nobody) exists; "
        "create one or pass --pg-url."
    )


def embedded_server(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(settings.state_dir / "postgres")


def resolve_pg(settings: Settings) -> PgUrl:
    """The PostgreSQL to use: ``--pg-url`` if given, else the embedded server (started)."""
    if settings.pg_url is not None:
        return parse_pg_url(settings.pg_url.get_secret_value())
    return embedded_server(settings).start()


def resolve_pg_url(settings: Settings) -> str:
    """Like :func:`resolve_pg`, as a URL string for psycopg (it holds the password)."""
    return resolve_pg(settings).url
