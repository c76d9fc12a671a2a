#!/usr/bin/env python3
"""One MCP Streamable HTTP exchange with secretd's /v1/mcp, over TLS.

    mcp_http.py URL CAFILE [options] [BODY]

BODY is sent as it is given (so malformed JSON can be sent too), with the
headers an MCP client sends: Content-Type, Accept, and when given
Authorization (--token), Mcp-Session-Id (--session), MCP-Protocol-Version
(--version) and Origin (--origin); --repeat N sends it N times on one
connection (a caller opening many sessions).  Prints the HTTP status, the
Mcp-Session-Id the reply set ("" for none), the Content-Type, then the
body, each on its own line.
"""

import argparse
import http.client
import ssl
import sys
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("cafile")
    ap.add_argument("body", nargs="?")
    ap.add_argument("--method", default="POST")
    ap.add_argument("--token")
    ap.add_argument("--session")
    ap.add_argument("--version")
    ap.add_argument("--origin")
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_intermixed_args()

    u = urllib.parse.urlsplit(a.url)
    ctx = ssl.create_default_context(cafile=a.cafile)
    ctx.check_hostname = False
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx,
                                       timeout=30)
    headers = {"Accept": "application/json, text/event-stream"}
    if a.body is not None:
        headers["Content-Type"] = "application/json"
    if a.token:
        headers["Authorization"] = "Bearer " + a.token
    if a.session:
        headers["Mcp-Session-Id"] = a.session
    if a.version:
        headers["MCP-Protocol-Version"] = a.version
    if a.origin:
        headers["Origin"] = a.origin
    body = a.body.encode() if a.body is not None else None
    for _ in range(a.repeat):
        conn.request(a.method, u.path or "/v1/mcp", body=body,
                     headers=headers)
        r = conn.getresponse()
        data = r.read().decode("utf-8", "replace")
    print(r.status)
    print(r.getheader("Mcp-Session-Id") or "")
    print(r.getheader("Content-Type") or "")
    sys.stdout.write(data if data.endswith("\n") or not data else data + "\n")
    conn.close()


if __name__ == "__main__":
    main()
