import os
import subprocess
import sys
from pathlib import Path

from salesoptic.runtime.class_archive import (
    archive_key,
    archive_option,
    archive_possible,
    keep_archive,
    pending_archive,
)
from salesoptic.runtime.java import Java


def _spark_home(tmp_path: Path) -> Path:
    jars = tmp_path / "spark" / "jars"
    jars.mkdir(parents=True)
    (jars / "a.jar").write_bytes(b"a")
    (jars / "b.jar").write_bytes(b"bb")
    return tmp_path / "spark"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_key_names_the_java_and_the_exact_jars(tmp_path: Path) -> None:
    home = _spark_home(tmp_path)
    java17 = Java(tmp_path / "jdk17", 17, "PATH")
    key = archive_key(java17, home)
    assert archive_key(java17, home) == key
    assert archive_key(Java(tmp_path / "jdk21", 21, "PATH"), home) != key
    (home / "jars" / "b.jar").write_bytes(b"bbb")
    assert archive_key(java17, home) != key
    key = archive_key(java17, home)
    (tmp_path / "jdk17" / "lib").mkdir(parents=True)
    (tmp_path / "jdk17" / "lib" / "modules").write_bytes(b"classes of an updated JDK")
    assert archive_key(java17, home) != key


def test_no_archive_when_a_folder_is_on_the_class_path(tmp_path: Path) -> None:
    home = _spark_home(tmp_path)
    assert archive_possible({}, home)
    assert not archive_possible({"SPARK_CONF_DIR": str(tmp_path)}, home)
    assert not archive_possible({"HADOOP_CONF_DIR": str(tmp_path)}, home)
    (home / "conf").mkdir()
    assert archive_possible({}, home)
    (home / "conf" / "spark-defaults.conf").write_text("spark.foo bar\n")
    assert not archive_possible({}, home)


def test_the_option_maps_an_archive_or_asks_for_one(tmp_path: Path) -> None:
    archive = tmp_path / "spark-driver-k.jsa"
    option = archive_option(archive, 4242)
    assert option.startswith(f"-XX:ArchiveClassesAtExit={archive}.4242.part ")
    assert pending_archive(f"-Xss4m {option}") == Path(f"{archive}.4242.part")
    archive.write_bytes(b"x")
    option = archive_option(archive, 4242)
    assert option.startswith(f"-XX:SharedArchiveFile={archive} ")
    assert pending_archive(option) is None
    assert archive_option(tmp_path / "a b" / "spark-driver-k.jsa", 4242) == ""


def test_one_writer_at_a_time_and_abandoned_parts_go(tmp_path: Path) -> None:
    archive = tmp_path / "spark-driver-k.jsa"
    live = Path(f"{archive}.{os.getppid()}.part")
    live.write_bytes(b"being written")
    assert archive_option(archive, 4242) == ""
    live.unlink()
    abandoned = Path(f"{archive}.{_dead_pid()}.part")
    abandoned.write_bytes(b"half")
    assert archive_option(archive, 4242).startswith("-XX:ArchiveClassesAtExit=")
    assert not abandoned.exists()


def test_a_part_is_kept_only_after_a_clean_exit(tmp_path: Path) -> None:
    part = tmp_path / "spark-driver-k.jsa.17.part"
    part.write_bytes(b"classes")
    keep_archive(part, 1)
    assert not part.exists() and not (tmp_path / "spark-driver-k.jsa").exists()
    part.write_bytes(b"classes")
    keep_archive(part, 0)
    assert not part.exists() and (tmp_path / "spark-driver-k.jsa").read_bytes() == b"classes"


def test_only_the_newest_archives_stay(tmp_path: Path) -> None:
    for age, key in enumerate("abcd"):
        archive = tmp_path / f"spark-driver-{key}.jsa"
        archive.write_bytes(b"x")
        os.utime(archive, (1_000_000 - age * 100, 1_000_000 - age * 100))
    part = tmp_path / "spark-driver-e.jsa.17.part"
    part.write_bytes(b"x")
    keep_archive(part, 0)
    left = sorted(p.name for p in tmp_path.glob("*.jsa"))
    assert left == ["spark-driver-a.jsa", "spark-driver-b.jsa", "spark-driver-e.jsa"]


_SESSION = """
from salesoptic.config import load_settings
from salesoptic.runtime.spark import start_spark, stop_spark
spark = start_spark(load_settings(data_dir={data!r}))
assert spark.range(100).selectExpr("sum(id) AS s").first()["s"] == 4950
stop_spark(spark)
"""


def _session(tmp_path: Path, run: str, **variables: str) -> list[str]:
    """A real session in a fresh process; the JVM's class-loading log, one line per class."""
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_CONF_DIR", "JAVA_TOOL_OPTIONS")}
    env.update(variables)
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["JAVA_TOOL_OPTIONS"] = f"-Xlog:class+load=info:file={tmp_path}/{run}-%p.log"
    script = _SESSION.format(data=str(tmp_path / "data"))
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return [line for log in tmp_path.glob(f"{run}-*.log") for line in log.read_text().splitlines()]


def test_the_first_session_writes_the_archive_and_the_next_maps_it(tmp_path: Path) -> None:
    folder = tmp_path / "cache" / "salesoptic" / "class-archives"
    first = _session(tmp_path, "first")
    archives = list(folder.glob("*.jsa"))
    assert len(archives) == 1 and archives[0].stat().st_size > 1_000_000
    assert not list(folder.glob("*.part"))
    # "(top)" marks a class the JVM mapped from the dynamic archive rather than a jar.
    assert not [line for line in first if "shared objects file (top)" in line]
    second = _session(tmp_path, "second")
    mapped = [line for line in second if "shared objects file (top)" in line]
    spark_classes = [line for line in mapped if " org.apache.spark." in line]
    assert len(spark_classes) > 1000, f"{len(mapped)} classes mapped"
    switched_off = _session(tmp_path, "off", SALESOPTIC_CLASS_ARCHIVE="false")
    assert switched_off and not [line for line in switched_off if "(top)" in line]
