import os
import subprocess
import sys
from pathlib import Path

from salesoptic.config import load_settings
from salesoptic.runtime.class_archive import (
    archive_key,
    archive_possible,
    jvm_options,
    keep_archive,
    pending_archive,
)
from salesoptic.runtime.java import Java, find_java, runtime_home
from salesoptic.runtime.spark import driver_archive_options


def _spark_home(tmp_path: Path) -> Path:
    jars = tmp_path / "spark" / "jars"
    jars.mkdir(parents=True)
    (jars / "a.jar").write_bytes(b"a")
    (jars / "b.jar").write_bytes(b"bb")
    return tmp_path / "spark"


def _jdk(tmp_path: Path, name: str, base_archive: bool = True) -> Java:
    server = tmp_path / name / "lib" / "server"
    server.mkdir(parents=True)
    if base_archive:
        (server / "classes.jsa").write_bytes(b"base")
    return Java(tmp_path / name, 17, "PATH")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_key_names_the_java_the_heap_and_the_exact_jars(tmp_path: Path) -> None:
    jars = _spark_home(tmp_path) / "jars"
    java17 = _jdk(tmp_path, "jdk17")
    key = archive_key(java17, jars, "6g")
    assert archive_key(java17, jars, "6g") == key
    assert archive_key(Java(tmp_path / "jdk21", 21, "PATH"), jars, "6g") != key
    assert archive_key(java17, jars, "40g") != key
    (jars / "b.jar").write_bytes(b"bbb")
    assert archive_key(java17, jars, "6g") != key
    key = archive_key(java17, jars, "6g")
    (tmp_path / "jdk17" / "lib" / "modules").write_bytes(b"classes of an updated JDK")
    assert archive_key(java17, jars, "6g") != key


def test_no_archive_without_a_base_archive_or_with_a_folder_on_the_class_path(
    tmp_path: Path,
) -> None:
    home = _spark_home(tmp_path)
    java = _jdk(tmp_path, "jdk")
    assert archive_possible({}, java, home)
    assert not archive_possible({}, _jdk(tmp_path, "trimmed", base_archive=False), home)
    assert not archive_possible({"SPARK_CONF_DIR": str(tmp_path)}, java, home)
    assert not archive_possible({"HADOOP_CONF_DIR": str(tmp_path)}, java, home)
    (home / "conf").mkdir()
    assert archive_possible({}, java, home)
    (home / "conf" / "spark-defaults.conf").write_text("spark.foo bar\n")
    assert not archive_possible({}, java, home)


def test_the_options_map_an_archive_or_ask_for_one(tmp_path: Path) -> None:
    archive = tmp_path / "spark-driver-k.jsa"
    options = jvm_options(archive, 4242)
    assert options.startswith(f"-XX:ArchiveClassesAtExit={archive}.4242.part ")
    assert pending_archive(f"-Xss4m {options}") == Path(f"{archive}.4242.part")
    archive.write_bytes(b"x")
    options = jvm_options(archive, 4242)
    assert options.startswith(f"-XX:SharedArchiveFile={archive} ")
    assert pending_archive(options) is None
    for folder in ("a b", "o'neil", 'say"', "back\\slash"):
        assert jvm_options(tmp_path / folder / "spark-driver-k.jsa", 4242) == ""


def test_one_writer_at_a_time_and_abandoned_parts_go(tmp_path: Path) -> None:
    archive = tmp_path / "spark-driver-k.jsa"
    live = Path(f"{archive}.{os.getppid()}.part")
    live.write_bytes(b"being written")
    assert jvm_options(archive, 4242) == ""
    live.unlink()
    abandoned = Path(f"{archive}.{_dead_pid()}.part")
    abandoned.write_bytes(b"half")
    stray = Path(f"{archive}.x.part")
    stray.write_bytes(b"?")
    assert jvm_options(archive, 4242).startswith("-XX:ArchiveClassesAtExit=")
    assert not abandoned.exists() and not stray.exists()
    archive.write_bytes(b"x")
    abandoned.write_bytes(b"half")
    assert jvm_options(archive, 4242).startswith("-XX:SharedArchiveFile=")
    assert not abandoned.exists()


def test_a_part_is_kept_only_after_a_clean_exit_and_a_failure_is_not_retried(
    tmp_path: Path,
) -> None:
    archive = tmp_path / "spark-driver-k.jsa"
    part = Path(f"{archive}.17.part")
    part.write_bytes(b"classes")
    keep_archive(part, 0)
    assert not part.exists() and archive.read_bytes() == b"classes"
    other = tmp_path / "spark-driver-j.jsa"
    for exit_code, content in ((1, b"classes"), (None, b"classes"), (0, b"")):
        Path(f"{other}.17.part").write_bytes(content)
        keep_archive(Path(f"{other}.17.part"), exit_code)
        assert not Path(f"{other}.17.part").exists() and not other.exists()
    keep_archive(Path(f"{other}.18.part"), 0)  # the JVM wrote nothing at all
    assert not other.exists()
    assert jvm_options(other, 4242) == ""


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


def test_a_cache_that_cannot_be_written_means_no_archive(tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    for name in ("SPARK_CONF_DIR", "HADOOP_CONF_DIR", "YARN_CONF_DIR", "SPARK_DIST_CLASSPATH"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(data_dir=tmp_path / "data")
    assert driver_archive_options(settings, find_java()) == ""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert driver_archive_options(settings, find_java()) != ""
    off = load_settings(data_dir=tmp_path / "data", class_archive=False)
    assert driver_archive_options(off, find_java()) == ""


_SESSION = """
from salesoptic.config import load_settings
from salesoptic.runtime.spark import start_spark, stop_spark
spark = start_spark(load_settings(data_dir={data!r}))
assert spark.range(100).selectExpr("sum(id) AS s").first()["s"] == 4950
stop_spark(spark)
"""


def _session(tmp_path: Path, run: str, **variables: str) -> list[str]:
    """A real session in a fresh process; the JVM's class-loading log, one line per class."""
    cleared = ("SPARK_CONF_DIR", "HADOOP_CONF_DIR", "YARN_CONF_DIR", "SPARK_DIST_CLASSPATH")
    env = {k: v for k, v in os.environ.items() if k not in (*cleared, "JAVA_TOOL_OPTIONS")}
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
    home = runtime_home(find_java())
    assert (home / "lib" / "server" / "classes.jsa").is_file(), f"{home} has no base archive"
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
