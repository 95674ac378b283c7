"""The driver JVM's class-data sharing archive (docs/runtime.md).

A fresh driver JVM spends seconds loading and verifying the same Spark classes at every
start. The first session of a given Java and Spark has its JVM write them to an archive
as it exits; every later session maps that archive instead. A local session started in
3.2 s instead of 6.4 s with it, and ran its first query in 1.3 s instead of 3.1 s
(docs/performance.md). The archive only saves time: whatever goes wrong with it, a
session starts without one.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Mapping
from pathlib import Path

from salesoptic.runtime.java import Java, runtime_home
from salesoptic.runtime.processes import process_alive

# The launcher puts these folders on the driver's class path; the JVM archives only a
# class path made of jar files, so with any of them the driver starts without an archive.
_FOLDER_VARIABLES = ("SPARK_CONF_DIR", "HADOOP_CONF_DIR", "YARN_CONF_DIR", "SPARK_DIST_CLASSPATH")
# The JVM's own messages about the archive (classes it skips, a stale archive it ignores)
# would fill the console; an unusable archive only makes a start slower.
_QUIET = "-Xlog:cds*=off"
_KEEP = 3
_PART = re.compile(r"^(?P<archive>.+\.jsa)\.(?P<pid>\d+)\.part$")
# Spark splits the driver's option string on blanks and reads quotes and backslashes.
_UNSAFE = re.compile(r"[\s'\"\\]")


def archive_key(java: Java, spark_jars: Path, driver_memory: str) -> str:
    """Names what the JVM checks before it maps an archive: the JDK, the heap size (a heap
    of 32 GiB or more has no compressed pointers) and the exact Spark jars."""
    home = runtime_home(java)
    digest = hashlib.sha256(f"{home.resolve()}|{java.major}|{driver_memory}".encode())
    files = sorted(spark_jars.glob("*.jar"))
    image = home / "lib" / "modules"  # rewritten by an update of the JDK in place
    if image.is_file():
        files.insert(0, image)
    for file in files:
        stat = file.stat()
        digest.update(f"|{file.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def archive_possible(env: Mapping[str, str], java: Java, spark_home: Path) -> bool:
    """Whether the driver can have an archive: its JDK ships the base archive that the
    driver's extends, and its class path holds only jars."""
    if not (runtime_home(java) / "lib" / "server" / "classes.jsa").is_file():
        return False
    if any(env.get(name) for name in _FOLDER_VARIABLES):
        return False
    conf = spark_home / "conf"
    return not (conf.is_dir() and any(conf.iterdir()))


def jvm_options(archive: Path, pid: int) -> str:
    """The JVM options: map the archive if it exists, else have the JVM write it as it
    exits, to a part file that ``keep_archive`` renames once the JVM has exited cleanly.

    None while another live process writes it (one writer is enough), after a failed
    attempt for this key (``.failed``), or for a path Spark's option string cannot carry.
    Part files of processes that are gone are removed.
    """
    if _UNSAFE.search(str(archive)) or failed_marker(archive).exists():
        return ""
    writing = False
    for part in archive.parent.glob(f"{archive.name}.*.part"):
        match = _PART.match(part.name)
        if match and process_alive(int(match["pid"])):
            writing = True
        else:
            part.unlink(missing_ok=True)
    if archive.is_file():
        return f"-XX:SharedArchiveFile={archive} {_QUIET}"
    if writing:
        return ""
    return f"-XX:ArchiveClassesAtExit={archive}.{pid}.part {_QUIET}"


def failed_marker(archive: Path) -> Path:
    return archive.with_name(f"{archive.name}.failed")


def pending_archive(java_options: str) -> Path | None:
    """The part file a session's JVM writes as it exits, if its options ask for one."""
    match = re.search(r"-XX:ArchiveClassesAtExit=(\S+)", java_options)
    return Path(match.group(1)) if match else None


def keep_archive(part: Path, exit_code: int | None) -> None:
    """After a clean exit, rename the part file into place; otherwise remove it and mark
    the key failed, so that later sessions do not try again. Keep the newest archives."""
    match = _PART.match(part.name)
    if match is None:
        return
    archive = part.with_name(match["archive"])
    if exit_code == 0 and part.is_file() and part.stat().st_size > 0:
        part.replace(archive)
    else:
        part.unlink(missing_ok=True)
        failed_marker(archive).touch()
    dated = []
    for other in part.parent.glob("*.jsa"):
        with contextlib.suppress(FileNotFoundError):  # removed meanwhile by another process
            dated.append((other.stat().st_mtime, other))
    for _, old in sorted(dated, reverse=True)[_KEEP:]:
        old.unlink(missing_ok=True)
