"""The benchmark's peak memory: each address space of a process tree counted once.

A process holding 200 MiB forks a child that never calls exec (as the JVM does before
each ``chmod`` it runs) and starts a second Python that holds 100 MiB of its own. The
tree's resident size must be the parent's plus the second Python's, read here from
``/proc`` one process at a time: not 200 MiB more (the fork counted), not 100 MiB less
(the second Python taken for a fork because it runs the same program).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import bench

MIB = 1024 * 1024

HOLD = """
import sys
held = bytearray({mib} * 1024 * 1024)
held[::4096] = b"\\x01" * len(range(0, len(held), 4096))  # touch every page
"""

PARENT = HOLD.format(mib=200) + textwrap.dedent(
    """
        import os, subprocess, time
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        second = subprocess.Popen(
            [sys.executable, "-c", sys.argv[1]], stdout=subprocess.PIPE, text=True
        )
        second.stdout.readline()
        print(second.pid, flush=True)
        time.sleep(60)
        """
)
SECOND = HOLD.format(mib=100) + "import time\nprint('ready', flush=True)\ntime.sleep(60)\n"


def _resident(pid: int, page: int) -> int:
    with open(f"/proc/{pid}/statm") as handle:
        return int(handle.read().split()[1]) * page


def test_a_fork_before_exec_is_not_counted_and_a_second_program_is():
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, SECOND],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, which the fork and Python join
    )
    try:
        second = int(parent.stdout.readline())
        children = bench._children_map().get(parent.pid, [])
        measured = bench._tree_rss(parent.pid)
        expected = _resident(parent.pid, bench.PAGE) + _resident(second, bench.PAGE)
    finally:
        os.killpg(parent.pid, signal.SIGKILL)
        parent.wait()
        parent.stdout.close()
    assert len(children) == 2
    assert expected > 300 * MIB
    assert abs(measured - expected) < 40 * MIB, (measured // MIB, expected // MIB)
