"""bench.priority.yield_cores: the control plane gives way to the app it measures."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.priority import yield_cores


def test_every_thread_of_the_processes_gets_the_niceness():
    script = "import threading, time; threading.Thread(target=time.sleep, args=(30,)).start(); time.sleep(30)"
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)  # its own autogroup
    try:
        deadline = time.monotonic() + 10
        while len(os.listdir(f"/proc/{proc.pid}/task")) < 2:
            assert time.monotonic() < deadline, "the child's second thread never started"
            time.sleep(0.01)
        assert yield_cores([proc.pid, 999_999_999], 7) >= 2  # a gone pid is skipped
        for tid in os.listdir(f"/proc/{proc.pid}/task"):
            assert os.getpriority(os.PRIO_PROCESS, int(tid)) == 7
        if os.path.exists(f"/proc/{proc.pid}/autogroup"):  # a kernel with autogroup scheduling
            assert open(f"/proc/{proc.pid}/autogroup").read().split()[-1] == "7"
    finally:
        proc.kill()
        proc.wait()
