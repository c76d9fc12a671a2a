"""HTTP/1.1 over a unix socket or TLS, with keep-alive connection reuse."""

from __future__ import annotations

import http.client
import ipaddress
import select
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple, Union
from urllib.parse import urlsplit

from . import _errors
from ._errors import RunToolsError

# Idle connections kept for reuse, per client.
_MAX_IDLE = 4


@dataclass(frozen=True)
class Endpoint:
    """Where the server is: scheme "unix", "https" or "http"."""

    scheme: str
    path: str = ""  # the socket, for unix
    host: str = ""
    port: int = 0

    @property
    def loopback(self) -> bool:
        if self.scheme == "unix":
            return True
        if self.host.lower() == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def __str__(self) -> str:
        if self.scheme == "unix":
            return "unix:" + self.path
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s://%s:%d" % (self.scheme, host, self.port)


def parse_url(url: str) -> Endpoint:
    """unix:/path/to.sock, https://host[:port] or http://host[:port]."""
    def bad(why: str) -> RunToolsError:
        return RunToolsError(_errors.INVALID_CONFIG, "invalid URL %r: %s "
                             "(use unix:/path/to.sock or https://host:port)"
                             % (url, why))
    if url.startswith("unix:"):
        path = url[5:]
        if path.startswith("//"):  # unix:///run/x.sock
            path = path[2:]
        if not path or "\0" in path:
            raise bad("no socket path")
        return Endpoint("unix", path=path)
    try:
        u = urlsplit(url)
        port = u.port
    except ValueError as e:
        raise bad(str(e)) from None
    if u.scheme not in ("https", "http"):
        raise bad("unknown scheme")
    if not u.hostname:
        raise bad("no host")
    if u.username is not None or u.password is not None:
        raise bad("credentials in the URL")
    if u.path not in ("", "/") or u.query or u.fragment:
        raise bad("a path, query or fragment")
    if port is None:
        port = 443 if u.scheme == "https" else 80
    return Endpoint(u.scheme, host=u.hostname, port=port)


class _UnixConnection(http.client.HTTPConnection):
    """http.client's connection over a unix stream socket."""

    def __init__(self, path: str, timeout: Optional[float]) -> None:
        super().__init__("localhost", timeout=timeout)
        self._unix_path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(self.timeout)
            s.connect(self._unix_path)
        except BaseException:
            s.close()
            raise
        self.sock = s


Conn = Union[_UnixConnection, http.client.HTTPConnection]
Response = Tuple[int, Mapping[str, str], bytes]


def _stale(conn: Conn) -> bool:
    """An idle connection the server has closed (or sent junk on)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        r, _, _ = select.select([sock], [], [], 0)
        return bool(r)
    except (OSError, ValueError):
        return True


def _map_error(e: BaseException, where: str, ep: Endpoint) -> RunToolsError:
    if isinstance(e, (TimeoutError, socket.timeout)):
        return RunToolsError(_errors.TIMEOUT, "%s %s: timed out" % (where, ep))
    if isinstance(e, ssl.SSLCertVerificationError):
        return RunToolsError(_errors.TLS_ERROR, "%s: certificate not trusted:"
                             " %s" % (ep, e.verify_message or e.reason))
    if isinstance(e, ssl.SSLError):
        return RunToolsError(_errors.TLS_ERROR, "%s: TLS: %s"
                             % (ep, e.reason or e))
    if isinstance(e, (http.client.RemoteDisconnected, ConnectionResetError,
                      BrokenPipeError)):
        return RunToolsError(_errors.CONNECTION_LOST, "%s: the server closed "
                             "the connection" % ep)
    if isinstance(e, http.client.HTTPException):
        return RunToolsError(_errors.BAD_RESPONSE, "%s: not an HTTP answer: "
                             "%s" % (ep, type(e).__name__))
    if where == "connecting to":
        return RunToolsError(_errors.CONNECTION_FAILED, "cannot connect to "
                             "%s: %s" % (ep, getattr(e, "strerror", None)
                                         or e))
    return RunToolsError(_errors.CONNECTION_LOST, "%s: %s"
                         % (ep, getattr(e, "strerror", None) or e))


class Transport:
    """Requests on reused connections; safe to share between threads."""

    def __init__(self, ep: Endpoint, ssl_context: Optional[ssl.SSLContext],
                 user_agent: str) -> None:
        self.endpoint = ep
        self._ctx = ssl_context
        self._ua = user_agent
        self._idle: List[Conn] = []
        self._lock = threading.Lock()
        self.connections_made = 0  # for tests and diagnostics

    def _new(self, timeout: Optional[float]) -> Conn:
        ep = self.endpoint
        if ep.scheme == "unix":
            return _UnixConnection(ep.path, timeout)
        if ep.scheme == "https":
            return http.client.HTTPSConnection(ep.host, ep.port,
                                               timeout=timeout,
                                               context=self._ctx)
        return http.client.HTTPConnection(ep.host, ep.port, timeout=timeout)

    def _take(self) -> Optional[Conn]:
        while True:
            with self._lock:
                if not self._idle:
                    return None
                conn = self._idle.pop()
            if not _stale(conn):
                return conn
            conn.close()

    def _give_back(self, conn: Conn) -> None:
        with self._lock:
            if len(self._idle) < _MAX_IDLE:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for c in idle:
            c.close()

    def request(self, method: str, path: str, headers: Dict[str, str],
                body: Optional[bytes], timeout: Optional[float],
                retry_safe: bool) -> Response:
        """One request; an idle connection the server dropped meanwhile
        is retried once on a new one when retry_safe (no side effects)."""
        hdrs = {"Accept": "application/json", "User-Agent": self._ua}
        hdrs.update(headers)
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        conn = self._take()
        reused = conn is not None
        while True:
            if conn is None:
                conn = self._new(timeout)
                try:
                    conn.connect()
                except BaseException as e:
                    conn.close()
                    if isinstance(e, Exception):
                        raise _map_error(e, "connecting to",
                                         self.endpoint) from None
                    raise
                self.connections_made += 1
            elif conn.sock is not None:
                conn.sock.settimeout(timeout)
            conn.timeout = timeout
            try:
                conn.request(method, path, body=body, headers=hdrs)
                resp = conn.getresponse()
                data = resp.read()
            except BaseException as e:
                conn.close()
                if not isinstance(e, Exception):
                    raise
                if reused and retry_safe and isinstance(
                        e, (http.client.RemoteDisconnected,
                            ConnectionResetError, BrokenPipeError)):
                    conn, reused = None, False
                    continue
                raise _map_error(e, "waiting for", self.endpoint) from None
            if resp.will_close:
                conn.close()
            else:
                self._give_back(conn)
            return resp.status, {k.lower(): v for k, v in
                                 resp.getheaders()}, data
