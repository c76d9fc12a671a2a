"""The client: rt = runtools.Client(); rt.secrets.get(...)."""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import os
import re
import ssl
import stat
from typing import (Any, Dict, Generic, Iterator, List, Mapping, Optional,
                    Tuple, TypeVar, Union, cast)
from urllib.parse import quote, urlencode

from . import _errors
from ._errors import RunToolsError
from ._transport import Endpoint, Transport, parse_url
from ._types import (CreatedToken, Deleted, Health, Override, ParamValue,
                     Revoked, RevealedSecret, SecretMeta, SecretVersions,
                     TokenMeta, Tool, ToolResult)

__version__ = "0.1.0"

# The system instance's socket (a system install: --runstatedir=/run).
DEFAULT_URL = "unix:/run/secretd/secretd.sock"
DEFAULT_TIMEOUT = 30.0
# A tool may run up to 300 s; the daemon answers within 310 s.
DEFAULT_TOOL_TIMEOUT = 320.0
_TOKEN_FILE_MAX = 4096
_TOKEN_RE = re.compile(r"[\x21-\x7e]{1,%d}" % _TOKEN_FILE_MAX)

T = TypeVar("T")
Json = Dict[str, Any]
_Query = List[Tuple[str, str]]
_Timeout = Optional[float]
# Annotations inside the API classes, whose methods named list and set
# would otherwise hide the built-in types from a type checker.
_Items = List[Any]


def _invalid(msg: str) -> RunToolsError:
    return RunToolsError(_errors.INVALID_ARGUMENT, msg)


def _version(v: Any) -> int:
    """A kept version: a whole number from 1 to 2**32 - 1."""
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v < 2**32:
        raise _invalid("version must be a whole number from 1 to "
                       "4294967295")
    return v


def _read_token_file(path: str) -> str:
    """The token in a regular file owned by us, mode 0600 or stricter."""
    def refuse(why: str) -> RunToolsError:
        return RunToolsError(_errors.INVALID_CONFIG,
                             "token file %s %s" % (path, why))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as e:
        raise refuse(": %s" % e.strerror) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise refuse("is not a regular file")
        if st.st_uid != os.geteuid():
            raise refuse("is not owned by you")
        if st.st_mode & 0o077:
            raise refuse("has mode %04o; refusing it (chmod 600 it)"
                         % stat.S_IMODE(st.st_mode))
        data = b""
        while len(data) <= _TOKEN_FILE_MAX:
            chunk = os.read(fd, _TOKEN_FILE_MAX + 1 - len(data))
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    try:
        token = data.decode("ascii").strip()
    except UnicodeDecodeError:
        token = ""
    if not _TOKEN_RE.fullmatch(token):
        raise refuse("does not hold a token")
    return token


def _env(name: str) -> Optional[str]:
    v = os.environ.get(name)
    return v if v else None


def _segment(name: str, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise _invalid("%s must be a non-empty string" % what)
    return quote(name, safe="")


def _flag(q: _Query, key: str, on: bool) -> None:
    if on:
        q.append((key, "true"))


def _opt(q: _Query, key: str, v: Optional[Union[str, int]]) -> None:
    if v is not None:
        q.append((key, str(v)))


class _Keep:
    """expires_at left out: the secret keeps its expiry."""

    def __repr__(self) -> str:
        return "KEEP"


_KEEP = _Keep()
Expiry = Union[str, datetime.date, None, _Keep]


def _expires(v: Expiry) -> Optional[str]:
    """expires_at as the API takes it: a str as given, a date as
    YYYY-MM-DD, an aware datetime in UTC to the second, None (clear)."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None or v.utcoffset() is None:
            raise _invalid("expires_at: a datetime needs a time zone")
        return v.astimezone(datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
    if isinstance(v, datetime.date):
        return v.strftime("%Y-%m-%d")
    raise _invalid("expires_at must be str, date, datetime or None")


def _revealed(body: Json) -> Json:
    """A reveal's answer: "valueBytes" always; "value" the text when the
    bytes are UTF-8 (the server sends text holding NUL as valueBase64),
    else None."""
    b64 = body.pop("valueBase64", None)
    v = body.get("value")
    try:
        if isinstance(v, str):
            raw = v.encode("utf-8")
        elif isinstance(b64, str):
            raw = base64.b64decode(b64, validate=True)
        else:
            raise ValueError
    except (ValueError, binascii.Error, UnicodeError):
        raise RunToolsError(_errors.BAD_RESPONSE, "a reveal answer without "
                            "a value") from None
    if not isinstance(v, str):
        try:
            v = raw.decode("utf-8")
        except UnicodeDecodeError:
            v = None
    body["value"] = v
    body["valueBytes"] = raw
    return body


class Client:
    """A client of secretd (the RunTools secrets API).

    Arguments left out come from the environment, as for runtools:
    url from RUNTOOLS_URL (unix:/path/to.sock or https://host:port; default
    unix:/run/secretd/secretd.sock); token from RUNTOOLS_TOKEN, else the
    file RUNTOOLS_TOKEN_FILE, else ~/.config/runtools/token when it exists
    (a token file must be owned by you, mode 0600 or stricter); ca_file
    from RUNTOOLS_CA_FILE (it then replaces the system's CAs).  Over the
    unix socket without a token the kernel tells the server who you are.
    A token is never sent over plain http:// except to a loopback address.

    timeout: seconds that connecting and each wait for the answer may take
    (every call takes timeout= to change it); tool_timeout the same for
    tools.execute.  Connections are kept open and reused; close() (or a
    with block) closes them.  Nothing the server returns is kept.
    """

    def __init__(self, url: Optional[str] = None, *,
                 token: Optional[str] = None,
                 token_file: Optional[str] = None,
                 ca_file: Optional[str] = None,
                 timeout: Optional[float] = DEFAULT_TIMEOUT,
                 tool_timeout: Optional[float] = DEFAULT_TOOL_TIMEOUT) -> None:
        self.endpoint: Endpoint = parse_url(url or _env("RUNTOOLS_URL")
                                            or DEFAULT_URL)
        if token is None:
            if token_file is None:
                token = _env("RUNTOOLS_TOKEN")
            if token is None:
                token_file = token_file or _env("RUNTOOLS_TOKEN_FILE")
                if token_file is None:
                    home = os.path.expanduser("~/.config/runtools/token")
                    if os.path.lexists(home):
                        token_file = home
                if token_file is not None:
                    token = _read_token_file(token_file)
        if token is not None and not _TOKEN_RE.fullmatch(token):
            raise RunToolsError(_errors.INVALID_CONFIG,
                                "the token holds blanks or is not text")
        if token is not None and self.endpoint.scheme == "http" and \
                not self.endpoint.loopback:
            raise RunToolsError(_errors.INVALID_CONFIG,
                                "refusing to send a token over plain http to "
                                "%s: use https" % self.endpoint)
        self._auth = {"Authorization": "Bearer " + token} if token else {}
        ctx = None
        if self.endpoint.scheme == "https":
            ca_file = ca_file or _env("RUNTOOLS_CA_FILE")
            try:
                ctx = ssl.create_default_context(cafile=ca_file)
            except (OSError, ssl.SSLError) as e:
                raise RunToolsError(_errors.INVALID_CONFIG,
                                    "CA file %s: %s" % (
                                        ca_file, getattr(e, "strerror", None)
                                        or e)) from None
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.timeout = timeout
        self.tool_timeout = tool_timeout
        self._t = Transport(self.endpoint, ctx,
                            "runtools-python/" + __version__)
        self.secrets = Secrets(self)
        self.tokens = Tokens(self)
        self.tools = Tools(self)

    def __repr__(self) -> str:
        return "runtools.Client(%r, token=%s)" % (
            str(self.endpoint), "set" if self._auth else "None")

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the idle connections (the client stays usable)."""
        self._t.close()

    def health(self, *, timeout: _Timeout = None) -> Health:
        """GET /v1/health: {"status": "ok"}; RunToolsError 503 when the
        daemon cannot serve."""
        return cast(Health, self._call("GET", "/v1/health", timeout=timeout))

    def _call(self, method: str, path: str, query: Optional[_Query] = None,
              body: Optional[Mapping[str, Any]] = None, *,
              timeout: _Timeout = None, tool: bool = False) -> Json:
        if query:
            path += "?" + urlencode(query, quote_via=quote)
        data = None
        if body is not None:
            try:
                data = json.dumps(body, ensure_ascii=False,
                                  allow_nan=False).encode("utf-8")
            except (TypeError, ValueError, UnicodeError) as e:
                raise _invalid("the request cannot be sent as JSON: %s"
                               % e) from None
        if timeout is None:
            timeout = self.tool_timeout if tool else self.timeout
        safe = method in ("GET", "DELETE") or path.endswith("/reveal") or \
            "/reveal?" in path
        status, headers, raw = self._t.request(method, path, dict(self._auth),
                                               data, timeout, safe)
        rid = headers.get("x-request-id")
        try:
            obj = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            obj = None
        if status >= 400:
            err = obj.get("error") if isinstance(obj, dict) else None
            if isinstance(err, dict):
                code = err.get("code")
                msg = err.get("message")
                rid = err.get("requestId") or rid
            else:
                code = msg = None
            raise RunToolsError(
                code if isinstance(code, str) and code else
                _errors.code_for_status(status),
                msg if isinstance(msg, str) and msg else
                "HTTP %d from %s %s" % (status, method,
                                        path.split("?", 1)[0]),
                status=status, request_id=rid if isinstance(rid, str) else
                None)
        if not isinstance(obj, dict):
            raise RunToolsError(_errors.BAD_RESPONSE, "HTTP %d from %s %s "
                                "without a JSON object" % (
                                    status, method, path.split("?", 1)[0]),
                                status=status, request_id=rid)
        return obj


class Page(Generic[T]):
    """One page of a list, and the way to the others.

    items: this page's objects; next_cursor: where the next page starts
    (None on the last).  Iterating over a page yields its items and then
    those of every later page, fetched as needed with the same filters.
    """

    def __init__(self, fetch: Any, key: str, body: Json) -> None:
        self._fetch = fetch  # cursor -> Page
        items = body.get(key)
        nxt = body.get("nextCursor")
        if not isinstance(items, list) or not (nxt is None or
                                               isinstance(nxt, str)):
            raise RunToolsError(_errors.BAD_RESPONSE, "a list answer "
                                "without %s and nextCursor" % key)
        self.items: List[T] = items
        self.next_cursor: Optional[str] = nxt or None

    def __repr__(self) -> str:
        return "Page(%d items, next_cursor=%r)" % (len(self.items),
                                                    self.next_cursor)

    def has_next_page(self) -> bool:
        return self.next_cursor is not None

    def next_page(self) -> "Optional[Page[T]]":
        """The next page, or None after the last."""
        if self.next_cursor is None:
            return None
        return cast("Page[T]", self._fetch(self.next_cursor))

    def pages(self) -> "Iterator[Page[T]]":
        """This page and each later one."""
        p: Optional[Page[T]] = self
        while p is not None:
            yield p
            p = p.next_page()

    def __iter__(self) -> Iterator[T]:
        for p in self.pages():
            yield from p.items


class Secrets:
    """rt.secrets: user-private and org-wide secrets."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def list(self, *, category: Optional[str] = None,
             secret_scope: Optional[str] = None,
             prefix: Optional[str] = None, all: bool = False,
             user_id: Optional[str] = None, limit: Optional[int] = None,
             cursor: Optional[str] = None,
             timeout: _Timeout = None) -> "Page[SecretMeta]":
        """GET /v1/secrets: metadata only, never values.

        category: provider, tool, agent, workflow or custom;
        secret_scope: "user" or "org"; prefix: names starting with it;
        all=True (admins): every user's and
        the org's; user_id (admins): that user's; limit: 1 to 1000 a page.
        Iterate over the answer to go through every page."""
        q: _Query = []
        _opt(q, "category", category)
        _opt(q, "secretScope", secret_scope)
        _opt(q, "prefix", prefix)
        _flag(q, "all", all)
        _opt(q, "user_id", user_id)
        _opt(q, "limit", limit)

        def fetch(cur: Optional[str]) -> Page[SecretMeta]:
            qq = q + ([("cursor", cur)] if cur else [])
            return Page(fetch, "secrets",
                        self._c._call("GET", "/v1/secrets", qq,
                                      timeout=timeout))
        return fetch(cursor)

    def iter(self, **filters: Any) -> Iterator[SecretMeta]:
        """Every secret list(**filters) finds, across pages."""
        return iter(self.list(**filters))

    def get(self, name: str, *, reveal: bool = False, org_wide: bool = False,
            user_id: Optional[str] = None, version: Optional[int] = None,
            timeout: _Timeout = None) -> RevealedSecret:
        """GET /v1/secrets/{name}, the metadata; with reveal=True, POST
        /v1/secrets/{name}/reveal, the metadata, "valueBytes" (bytes) and
        "value" (str when the bytes are UTF-8, else None), when policy
        allows: your own secrets; org secrets for admins, or members when
        org_reveal = members.  org_wide=True: the org's secret of that
        name; user_id (admins): that user's metadata.  version (with
        reveal=True): that kept version's value (see versions())."""
        q: _Query = []
        _flag(q, "orgWide", org_wide)
        _opt(q, "user_id", user_id)
        if version is not None:
            if not reveal:
                raise _invalid("version needs reveal=True (see versions())")
            _opt(q, "version", _version(version))
        path = "/v1/secrets/" + _segment(name, "name")
        if reveal:
            return cast(RevealedSecret, _revealed(self._c._call(
                "POST", path + "/reveal", q, timeout=timeout)))
        return cast(RevealedSecret, self._c._call("GET", path, q,
                                                  timeout=timeout))

    def set(self, name: str, value: Union[str, bytes], *,
            category: Optional[str] = None,
            description: Optional[str] = None,
            expires_at: Expiry = _KEEP, org_wide: bool = False,
            user_id: Optional[str] = None,
            timeout: _Timeout = None) -> SecretMeta:
        """POST /v1/secrets: creates the secret, or rotates it (version + 1,
        category, description and expiry kept unless given).  value: str
        (sent as text) or bytes (any bytes, sent as valueBase64); 1 byte to
        64 KiB.  expires_at: "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ", a date
        or an aware datetime; None clears it.  org_wide=True (admins): the
        org's; user_id (admins): that user's."""
        body: Json = {"name": name}
        if isinstance(value, str):
            body["value"] = value
        elif isinstance(value, (bytes, bytearray, memoryview)):
            body["valueBase64"] = base64.b64encode(value).decode("ascii")
        else:
            raise _invalid("the value must be str or bytes")
        if category is not None:
            body["category"] = category
        if description is not None:
            body["description"] = description
        if not isinstance(expires_at, _Keep):
            body["expiresAt"] = _expires(expires_at)
        if org_wide:
            body["orgWide"] = True
        q: _Query = []
        _opt(q, "user_id", user_id)
        return cast(SecretMeta, self._c._call("POST", "/v1/secrets", q, body,
                                              timeout=timeout))

    def rotate(self, name: str, value: Union[str, bytes], *,
               expires_at: Expiry = _KEEP, org_wide: bool = False,
               user_id: Optional[str] = None,
               timeout: _Timeout = None) -> SecretMeta:
        """A new value behind an existing name (version + 1).  Unlike set,
        a missing secret is an error (404 not_found), not created."""
        if not isinstance(expires_at, _Keep):
            _expires(expires_at)
        self.get(name, org_wide=org_wide, user_id=user_id, timeout=timeout)
        return self.set(name, value, expires_at=expires_at,
                        org_wide=org_wide, user_id=user_id, timeout=timeout)

    def delete(self, name: str, *, org_wide: bool = False,
               user_id: Optional[str] = None,
               timeout: _Timeout = None) -> Deleted:
        """DELETE /v1/secrets/{name}: yours; org_wide=True (admins) the
        org's; user_id (admins) that user's."""
        q: _Query = []
        _flag(q, "orgWide", org_wide)
        _opt(q, "user_id", user_id)
        return cast(Deleted, self._c._call(
            "DELETE", "/v1/secrets/" + _segment(name, "name"), q,
            timeout=timeout))

    def versions(self, name: str, *, org_wide: bool = False,
                 user_id: Optional[str] = None,
                 timeout: _Timeout = None) -> SecretVersions:
        """GET /v1/secrets/{name}/versions: the kept versions (version,
        createdAt, createdBy, current), newest first; never a value.
        Whoever may read the secret's metadata may list them."""
        q: _Query = []
        _flag(q, "orgWide", org_wide)
        _opt(q, "user_id", user_id)
        return cast(SecretVersions, self._c._call(
            "GET", "/v1/secrets/" + _segment(name, "name") + "/versions", q,
            timeout=timeout))

    def rollback(self, name: str, version: int, *, org_wide: bool = False,
                 user_id: Optional[str] = None,
                 timeout: _Timeout = None) -> SecretMeta:
        """POST /v1/secrets/{name}/rollback: kept version's value becomes
        a new version, copied on the server (the value never travels);
        the new version's metadata.  Policy as rotate; 409 conflict for
        the current version."""
        q: _Query = []
        _flag(q, "orgWide", org_wide)
        _opt(q, "user_id", user_id)
        return cast(SecretMeta, self._c._call(
            "POST", "/v1/secrets/" + _segment(name, "name") + "/rollback", q,
            {"version": _version(version)}, timeout=timeout))


class Tokens:
    """rt.tokens: bearer tokens for TLS (or to act as their user)."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def create(self, *, description: Optional[str] = None,
               role: Optional[str] = None, ttl_seconds: Optional[int] = None,
               scopes: Optional[List[str]] = None,
               timeout: _Timeout = None) -> CreatedToken:
        """POST /v1/tokens: "token" (shown only now) and its metadata.
        role "admin" needs an admin; ttl_seconds: expiry (none: never);
        scopes ["tools:NAME", ...]: a token for those tools only."""
        body: Json = {}
        if description is not None:
            body["description"] = description
        if role is not None:
            body["role"] = role
        if ttl_seconds is not None:
            body["ttlSeconds"] = ttl_seconds
        if scopes is not None:
            body["scopes"] = list(scopes)
        return cast(CreatedToken, self._c._call("POST", "/v1/tokens",
                                                body=body, timeout=timeout))

    def list(self, *, limit: Optional[int] = None,
             cursor: Optional[str] = None,
             timeout: _Timeout = None) -> "Page[TokenMeta]":
        """GET /v1/tokens: yours (admins: the org's); iterate for all."""
        q: _Query = []
        _opt(q, "limit", limit)

        def fetch(cur: Optional[str]) -> Page[TokenMeta]:
            qq = q + ([("cursor", cur)] if cur else [])
            return Page(fetch, "tokens", self._c._call(
                "GET", "/v1/tokens", qq, timeout=timeout))
        return fetch(cursor)

    def revoke(self, token_id: str, *, timeout: _Timeout = None) -> Revoked:
        """DELETE /v1/tokens/{id}; the whole token (rts_ID_...) works too."""
        if isinstance(token_id, str) and token_id.startswith("rts_"):
            token_id = token_id.split("_")[1]
        return cast(Revoked, self._c._call(
            "DELETE", "/v1/tokens/" + _segment(token_id, "token id"),
            timeout=timeout))


class Tools:
    """rt.tools: the operator's tools, run with secrets kept server-side."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def list(self, *, limit: Optional[int] = None,
             cursor: Optional[str] = None,
             timeout: _Timeout = None) -> "Page[Tool]":
        """GET /v1/tools: the tools you may run; iterate for all."""
        q: _Query = []
        _opt(q, "limit", limit)

        def fetch(cur: Optional[str]) -> Page[Tool]:
            qq = q + ([("cursor", cur)] if cur else [])
            return Page(fetch, "tools", self._c._call(
                "GET", "/v1/tools", qq, timeout=timeout))
        return fetch(cursor)

    def get(self, tool: str, *, timeout: _Timeout = None) -> Tool:
        """GET /v1/tools/{tool}: its actions, parameters and slots."""
        return cast(Tool, self._c._call(
            "GET", "/v1/tools/" + _segment(tool, "tool"), timeout=timeout))

    def execute(self, tool: str, *, action: str,
                params: Optional[Mapping[str, ParamValue]] = None,
                credential_overrides: Optional[Mapping[str, Override]] = None,
                timeout: _Timeout = None) -> ToolResult:
        """POST /v1/tools/{tool}/execute {action, params,
        credentialOverrides}.  An override maps a slot to a secret name
        (yours, else the org's) or to {"name": NAME, "orgWide": True} (the
        org's).  The answer has the redacted result and, in
        "credentials", the name, scope and version each slot used."""
        body: Json = {"action": action}
        if params is not None:
            body["params"] = dict(params)
        if credential_overrides is not None:
            over: Json = {}
            for slot, v in credential_overrides.items():
                if isinstance(v, Mapping):
                    v = {("orgWide" if k == "org_wide" else k): x
                         for k, x in v.items()}
                over[slot] = v
            body["credentialOverrides"] = over
        return cast(ToolResult, self._c._call(
            "POST", "/v1/tools/" + _segment(tool, "tool") + "/execute",
            body=body, timeout=timeout, tool=True))
