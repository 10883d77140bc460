"""afterwards.py: jobs run after the command has exited, in a child the caller does not wait for."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from inventory_tools import afterwards

SCRIPT = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from inventory_tools import afterwards, cli
    go, done = Path(sys.argv[1]), Path(sys.argv[2])

    def job():  # waits for the test's word: it can only come once the command has exited
        deadline = time.monotonic() + 60
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        tmp = done.with_suffix(".tmp")
        tmp.write_text(f"{os.getsid(0) == os.getpid()} {sys.stdout.isatty()}")
        tmp.rename(done)

    afterwards.enable()
    assert afterwards.later(job)
    print("said everything")
    cli._hard_exit(0)
""")


def test_a_job_runs_after_the_command_has_exited_and_its_pipe_is_closed(tmp_path):
    go, done = tmp_path / "go", tmp_path / "done"
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(go), str(done)], capture_output=True, text=True,
                          timeout=60)  # returns only once stdout's pipe is closed by every process
    assert proc.returncode == 0 and proc.stdout == "said everything\n" and proc.stderr == ""
    assert not done.exists()  # the job is still waiting: the command did not wait for it
    go.touch()
    deadline = time.monotonic() + 30
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert done.read_text() == "True False"  # in a session of its own, its output on /dev/null


def test_without_enable_a_job_is_left_to_the_caller(monkeypatch):
    monkeypatch.setattr(afterwards, "_enabled", False)
    assert afterwards.later(lambda: None) is False
    afterwards.run_detached()  # nothing pending: nothing forked


KEEPS = textwrap.dedent("""
    import gc, weakref
    from inventory_tools import afterwards

    class Held:  # what a job holds (a checked file, in the CLI)
        pass

    def handed_over():
        held = Held()
        afterwards.later(lambda: held)
        return weakref.ref(held)

    afterwards.enable()
    alive = handed_over()
    afterwards.run_detached()  # the child runs the job; this process goes on to exit
    gc.collect()
    print(alive() is not None)
""")


def test_what_a_job_holds_is_not_freed_in_the_command_before_it_exits():
    """Freeing it would copy every page the child shares with the command (50 ms at 100,000 rows)."""
    proc = subprocess.run([sys.executable, "-c", KEEPS], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == "True\n", proc.stderr
