#!/usr/bin/python3
# Exec test tool: the value of CRM_KEY on stderr, then params.at bytes of
# 'x', the value again (where the runner's cap cuts it), and far more.
import json
import os
import sys

req = json.load(sys.stdin)
v = os.environ["CRM_KEY"]
sys.stderr.write(v + "x" * int(req["params"]["at"]) + v + "y" * 100000)
sys.stderr.flush()
print(json.dumps({"done": True}))
