"""Give the measured app the cores first: the co-located control plane runs at a lower priority.

On a user's machine the API server is elsewhere; here the control plane shares the cores with the
app, and while the scheduler shared them evenly a collector pause's wall time was mostly waiting
for a core (docs/performance.md, "Soak"). Niced, the control plane still gets every cycle the app
does not use.
"""

from __future__ import annotations

import os


def yield_cores(pids: list[int], niceness: int) -> int:
    """Lower the CPU priority of every thread of `pids` (threads they start later inherit it).

    Returns how many threads were changed."""
    changed = 0
    for pid in pids:
        try:
            # With autogroup scheduling (most desktop and cloud kernels) each session shares the
            # cores as a group and a thread's niceness only counts inside its own: the group's too.
            with open(f"/proc/{pid}/autogroup", "w") as group:
                group.write(str(niceness))
        except OSError:
            pass
        try:
            tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        except OSError:
            tids = [pid]
        for tid in tids:
            try:
                os.setpriority(os.PRIO_PROCESS, tid, niceness)  # per thread on Linux
                changed += 1
            except OSError:
                pass
    return changed
