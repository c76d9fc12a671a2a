#!/usr/bin/env python3
"""A Model Context Protocol client over stdio, for the e2e tests.

    mcp_client.py [--timeout S] -- COMMAND [ARGS...]

Starts COMMAND (an MCP server speaking newline-delimited JSON-RPC) and
sends it the lines of its own standard input, one message each, waiting
for the reply to each one that is due one (a request, a batch holding one,
or anything that is not a notification).  A line "!big N" sends a request
N bytes long; "!run SHELL COMMAND" runs that command, and waits for it,
before the next line is sent.  Prints every line the server wrote, as it wrote it, one a
line ("NOTJSON: ..." for one that is not JSON), then {"exit": STATUS}
once its standard input is closed.  Standard error of COMMAND goes to
this program's own.
"""

import argparse
import json
import select
import subprocess
import sys
import time


def reply_due(line):
    try:
        m = json.loads(line)
    except ValueError:
        return True
    msgs = m if isinstance(m, list) and m else [m]
    return any(not isinstance(x, dict) or "id" in x or "method" not in x
               for x in msgs)


class Server:
    def __init__(self, argv, timeout):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, bufsize=0)
        self.timeout = timeout
        self.buf = b""

    def read_line(self, timeout):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if not r:
                return None
            chunk = self.p.stdout.read1(65536) if hasattr(
                self.p.stdout, "read1") else self.p.stdout.read(65536)
            if not chunk:
                if self.buf:
                    line, self.buf = self.buf, b""
                    return line
                return None
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def send(self, data):
        self.p.stdin.write(data + b"\n")
        self.p.stdin.flush()


def show(line):
    text = line.decode("utf-8", "replace")
    try:
        json.loads(text)
        print(text)
    except ValueError:
        print("NOTJSON: " + text)
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("argv", nargs="+")
    a = ap.parse_args()
    s = Server(a.argv, a.timeout)
    for raw in sys.stdin:
        raw = raw.rstrip("\n")
        if not raw or raw.startswith("#"):
            continue
        if raw.startswith("!run "):
            subprocess.run(raw[5:], shell=True, check=False)
            continue
        if raw.startswith("!big "):
            n = int(raw.split()[1])
            head = '{"jsonrpc":"2.0","id":"big","method":"ping","params":{"x":"'
            data = (head + "x" * (n - len(head) - 3) + '"}}').encode()
            due = True
        else:
            data, due = raw.encode(), reply_due(raw)
        try:
            s.send(data)
        except BrokenPipeError:
            print('{"broken_pipe": true}')
            break
        if due:
            line = s.read_line(a.timeout)
            if line is None:
                print('{"no_reply": true}')
                sys.stdout.flush()
                continue
            show(line)
    s.p.stdin.close()
    while True:
        line = s.read_line(a.timeout)
        if line is None:
            break
        show(line)
    try:
        rc = s.p.wait(a.timeout)
    except subprocess.TimeoutExpired:
        s.p.kill()
        rc = "hung"
    print(json.dumps({"exit": rc}))


if __name__ == "__main__":
    main()
