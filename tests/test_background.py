"""background.beside: work on the other core, with the same answers as running it in line."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from inventory_tools import background

MODES = [True, False]  # forked, and the sequential fallback (no fork: Windows)


@pytest.mark.parametrize("parallel", MODES)
def test_the_value_comes_back(parallel):
    task = background.beside(lambda: {"rows": 3, "pid": os.getpid()}, parallel=parallel)
    value = task.result()
    assert value["rows"] == 3
    assert (value["pid"] != os.getpid()) == (parallel and background.can_fork())


@pytest.mark.parametrize("parallel", MODES)
def test_the_exception_comes_back_as_raised(parallel, tmp_path):
    def fail():
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x"))

    task = background.beside(fail, parallel=parallel)
    with pytest.raises(OSError) as err:
        task.result()
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(tmp_path / "x")


def test_work_started_beside_runs_while_the_caller_works(tmp_path):
    """The copy writes while this process goes on; nothing it does is seen here but its file."""
    flag = tmp_path / "flag"
    state = {"touched": False}

    def work():
        state["touched"] = True  # in the copy only
        flag.write_text("written")
        return "done"

    task = background.beside(work)
    assert task.result() == "done" and flag.read_text() == "written"
    assert state["touched"] is False


def test_cancel_stops_and_reaps_the_copy(tmp_path):
    started = tmp_path / "started"

    def forever():
        started.write_text("yes")
        signal.pause()

    task = background.beside(forever)
    pid = task.pid
    while not started.exists():
        os.sched_yield()
    task.cancel()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, 0)  # already reaped: no zombie left


ORPHAN = r"""
import os, sys, time
from inventory_tools import background

part = sys.argv[1]
parent = os.getpid()

def work():
    with open(part, "w") as fh:
        fh.write("half")
    while os.getppid() == parent:  # still working when the caller is killed
        time.sleep(0.01)
    return "late"

task = background.beside(work, on_orphan=lambda: os.remove(part))
print(task.pid, flush=True)
time.sleep(600)
"""


def test_a_copy_whose_caller_was_killed_removes_its_file(tmp_path):
    part = tmp_path / "results.part"
    proc = subprocess.Popen([sys.executable, "-c", ORPHAN, str(part)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    child = int(proc.stdout.readline())
    while not part.exists():
        os.sched_yield()
    proc.kill()
    proc.wait()
    proc.stdout.close()
    while Path(f"/proc/{child}").exists() and "zombie" not in _state(child):
        os.sched_yield()
    assert not part.exists()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0].lower()
    except (OSError, IndexError):
        return "zombie"
