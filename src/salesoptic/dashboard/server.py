"""Run the dashboard: ``streamlit run app.py`` in a subprocess, headless, without telemetry.

The data directory reaches the app through ``SALESOPTIC_DATA_DIR``. The server binds
127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from salesoptic.errors import UserError

APP = Path(__file__).with_name("app.py")
READY_TIMEOUT_S = 60.0


def url_of(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def streamlit_args(host: str, port: int, page: Path = APP) -> list[str]:
    """The ``streamlit run`` command line (the Python running this one)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(page),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        # The app's code does not change under a running server: no file watching.
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--client.toolbarMode",
        "minimal",
        # Lets ``wait_ready`` run the page once before the first visitor (see there).
        "--server.scriptHealthCheckEnabled",
        "true",
    ]


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UserError(
                f"Cannot listen on {url_of(host, port)} ({exc.strerror}); "
                "choose another --port or --host."
            ) from None


def start(
    data_dir: Path, host: str = "127.0.0.1", port: int = 8501, page: Path = APP
) -> subprocess.Popen:
    """Start the server of ``page`` in the background; the caller stops it (``terminate``)."""
    _check_port(host, port)
    env = os.environ | {
        "SALESOPTIC_DATA_DIR": str(Path(data_dir).resolve()),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    return subprocess.Popen(streamlit_args(host, port, page), env=env, stdin=subprocess.DEVNULL)


def wait_ready(process: subprocess.Popen, url: str, timeout: float = READY_TIMEOUT_S) -> None:
    """Return once the server answers and has run the page once without an error.

    That first run, through Streamlit's script health check, imports the page's modules
    and fills the query cache the visitors' sessions share, so the first visitor does not
    wait for them.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UserError(f"The dashboard server stopped (exit code {process.returncode}).")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    else:
        raise UserError(f"The dashboard did not answer at {url} within {timeout:.0f} s.")
    _run_page_once(url, max(deadline - time.monotonic(), 1.0))


def _run_page_once(url: str, timeout: float) -> None:
    """Run the page once; Streamlit answers 503 with ``error`` or ``timeout`` (60 s)."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/script-health-check", timeout=timeout):
            return
    except urllib.error.HTTPError as exc:
        if exc.read(100).strip() != b"timeout":
            raise UserError(
                "The dashboard page failed on its first run; the server's output above says why."
            ) from None
    except (urllib.error.URLError, OSError):
        pass
    raise UserError(f"The dashboard at {url} did not finish its first run in time.")


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve(data_dir: Path, host: str = "127.0.0.1", port: int = 8501) -> None:
    """Serve the dashboard until Ctrl+C, printing its URL once it answers."""
    url = url_of(host, port)
    process = start(data_dir, host, port)
    try:
        wait_ready(process, url)
        print(f"SalesOptic dashboard: {url}  (data: {Path(data_dir).resolve()}; Ctrl+C stops it)")
        if not is_loopback(host):
            print(f"Warning: {host} is not a loopback address; other machines can reach it.")
        process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop(process)
