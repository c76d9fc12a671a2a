#!/usr/bin/env python3
"""A small upstream for the tool-runner tests, on a loopback port.

It serves HTTPS with a certificate of its own (made with the openssl
command into --dir on first use: a CA, and a server certificate for
"localhost" and "upstream.test" signed by it), or plain HTTP with
--plain.  Every request it gets is appended to --log as one JSON line:
method, path, query, headers and body.  Paths:

  /echo, /echo/ANY   200, JSON: the request (method, path, raw query,
                     decoded args, headers, body) and, when the query has
                     echo=header:NAME, echo=query:NAME or echo=basic, that
                     value again in every encoding (raw, base64 and
                     base64url with and without padding, hex in both
                     cases, percent-encoded in both cases and with '+',
                     JSON with \\/).  fmt=text: the encodings only, one a
                     line, as text.
  /status/NNN        that status, with a small JSON body
  /slow?s=N          answers after N seconds (default 60); others are
                     served meanwhile (one thread per request)
  /redirect?to=URL   302 to URL
  /big?n=BYTES       n bytes of 'x'; chunked=true: without Content-Length

It prints "port N" once it listens, then serves until killed.
"""

import argparse
import base64
import binascii
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG_LOCK = threading.Lock()


def make_cert(d):
    """A CA and a server certificate for localhost, signed by it."""
    ca_key, ca_crt = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
    key, crt = os.path.join(d, "server.key"), os.path.join(d, "server.crt")
    if os.path.exists(crt):
        return crt, key
    csr, ext = os.path.join(d, "server.csr"), os.path.join(d, "server.ext")
    run = lambda *a: subprocess.run(["openssl", *a], check=True,
                                    stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
    run("req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
        "-subj", "/CN=secretd test CA", "-keyout", ca_key, "-out", ca_crt)
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-subj", "/CN=localhost", "-keyout", key, "-out", csr)
    with open(ext, "w") as f:
        f.write("subjectAltName = DNS:localhost, DNS:upstream.test\n"
                "basicConstraints = CA:FALSE\n"
                "extendedKeyUsage = serverAuth\n")
    run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
        "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", crt)
    for f in (ca_crt, crt):
        os.chmod(f, 0o644)
    return crt, key


def header_text(v):
    """http.server reads header bytes as latin-1; give back the UTF-8."""
    try:
        return v.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return v


def encodings(w):
    b = w.encode("utf-8")
    b64 = base64.b64encode(b).decode()
    b64u = base64.urlsafe_b64encode(b).decode()
    url = urllib.parse.quote(w, safe="")
    return [
        ("raw", w),
        ("base64", b64),
        ("base64_nopad", b64.rstrip("=")),
        ("base64url", b64u),
        ("base64url_nopad", b64u.rstrip("=")),
        ("hex", binascii.hexlify(b).decode()),
        ("HEX", binascii.hexlify(b).decode().upper()),
        ("url", url),
        ("url_lower", re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(),
                             url)),
        ("url_plus", urllib.parse.quote_plus(w, safe="")),
    ]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "upstream-test"

    def log_message(self, fmt, *args):
        pass

    def record(self, body):
        u = urllib.parse.urlsplit(self.path)
        entry = {
            "method": self.command,
            "path": u.path,
            "query": u.query,
            "headers": [[k, header_text(v)] for k, v in self.headers.items()],
            "body": body.decode("utf-8", "replace"),
        }
        with LOG_LOCK, open(self.server.log, "a") as f:
            f.write(json.dumps(entry) + "\n")
        return u

    def reply(self, code, body, ctype="application/json", extra=()):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def echo_value(self, args):
        what = args.get("echo", "")
        if what.startswith("header:"):
            v = self.headers.get(what[7:])
            return header_text(v) if v is not None else None
        if what.startswith("query:"):
            return args.get(what[6:])
        if what == "basic":
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                dec = base64.b64decode(auth[6:]).decode("utf-8")
                return dec.split(":", 1)[1]
        return None

    def echo(self, u, body):
        args = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        w = self.echo_value(args)
        if args.get("fmt") == "text":
            lines = []
            if w is not None:
                lines = ["%s: %s" % kv for kv in encodings(w)]
                lines.append("json_slash: " +
                             json.dumps(w)[1:-1].replace("/", "\\/"))
            self.reply(200, "\n".join(lines) + "\n", "text/plain")
            return
        obj = {
            "method": self.command,
            "path": u.path,
            "query": u.query,
            "args": args,
            "headers": {k: header_text(v) for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }
        text = json.dumps(obj)
        if w is not None:
            enc = json.dumps(dict(encodings(w)))
            # A JSON encoder that escapes '/', written by hand.
            slash = json.dumps(w)[1:-1].replace("/", "\\/")
            enc = enc[:-1] + ', "json_slash": "' + slash + '"}'
            text = text[:-1] + ', "echo": ' + enc + "}"
        self.reply(200, text)

    def handle_any(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        u = self.record(body)
        args = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        if u.path == "/echo" or u.path.startswith("/echo/"):
            self.echo(u, body)
        elif u.path.startswith("/status/"):
            code = int(u.path[8:])
            self.reply(code, json.dumps({"status": code}))
        elif u.path == "/slow":
            time.sleep(float(args.get("s", "60")))
            self.reply(200, json.dumps({"slow": True}))
        elif u.path == "/redirect":
            self.reply(302, "redirecting\n", "text/plain",
                       [("Location", args.get("to", "/"))])
        elif u.path == "/big":
            self.big(int(args.get("n", "0")), args.get("chunked") == "true")
        else:
            self.reply(404, json.dumps({"error": "no such path"}))

    def big(self, n, chunked):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(n))
        self.end_headers()
        piece = b"x" * 65536
        try:
            while n > 0:
                k = min(n, len(piece))
                if chunked:
                    self.wfile.write(b"%x\r\n" % k + piece[:k] + b"\r\n")
                else:
                    self.wfile.write(piece[:k])
                n -= k
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True, help="certificate folder")
    ap.add_argument("--log", required=True, help="requests, JSON lines")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--plain", action="store_true", help="HTTP, no TLS")
    a = ap.parse_args()
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.log = a.log
    if not a.plain:
        crt, key = make_cert(a.dir)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                     do_handshake_on_connect=False)
    print("port %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
