#!/usr/bin/python3
# Exec test tool: asks the kernel whether it may signal (signal 0, which
# changes nothing) its supervisor, the runner, the launcher, every process
# of its user, the runner's process group, and a child of its own.
import json
import os
import subprocess
import sys


def may_signal(pid):
    try:
        os.kill(pid, 0)
        return "allowed"
    except PermissionError:
        return "refused"
    except ProcessLookupError:
        return "no such process"


p = json.load(sys.stdin)["params"]
child = subprocess.Popen(["/bin/sleep", "30"])
print(json.dumps({
    "supervisor": may_signal(os.getppid()),
    "runner": may_signal(int(p["runner"])),
    "launcher": may_signal(int(p["launcher"])),
    "everyone": may_signal(-1),
    "runner_group": may_signal(-int(p["runner_group"])),
    "own_child": may_signal(child.pid),
    "own_group": may_signal(0),
}))
child.kill()
