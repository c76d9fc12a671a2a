#!/usr/bin/python3
# Exec test tool: prints what it was given (environment, stdin, argv, cwd,
# its process ids and confinement) as JSON; writes the value of the
# variable named by params.leak to stderr, raw, base64 and hex.
import base64
import binascii
import json
import os
import sys

req = json.load(sys.stdin)
status = {}
with open("/proc/self/status") as f:
    for line in f:
        k, _, v = line.partition(":")
        if k in ("NoNewPrivs", "Seccomp", "CapEff", "CapPrm", "Uid"):
            status[k] = v.strip()
try:
    os.setsid()
    setsid = "allowed"
except OSError as e:
    setsid = e.strerror
limits = {}
with open("/proc/self/limits") as f:
    for line in f:
        if line.startswith(("Max core", "Max processes", "Max file size")):
            limits[line[:25].strip()] = line[25:46].strip()
print(json.dumps({
    "env": dict(os.environ),
    "stdin": req,
    "argv": sys.argv[1:],
    "cwd": os.getcwd(),
    "pid": os.getpid(),
    "pgid": os.getpgid(0),
    "sid": os.getsid(0),
    "status": status,
    "setsid": setsid,
    "limits": limits,
}))
leak = req.get("params", {}).get("leak")
if leak:
    v = os.environ.get(leak, "").encode()
    sys.stderr.write("raw %s\nb64 %s\nhex %s\n" % (
        v.decode(), base64.b64encode(v).decode(),
        binascii.hexlify(v).decode()))
