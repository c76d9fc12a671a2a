"""The shapes of the API's JSON objects, for type checkers."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, TypedDict, Union

Scope = Literal["user", "org"]
Category = Literal["provider", "tool", "agent", "workflow", "custom"]


class _SecretExpiry(TypedDict, total=False):
    expiresAt: str  # only when the secret has an expiry


class SecretMeta(_SecretExpiry):
    """A secret's metadata; lists and get never carry the value."""

    name: str
    scope: Scope
    userId: Optional[str]
    orgId: str
    category: str
    description: str
    version: int
    createdAt: str
    updatedAt: str
    createdBy: str
    updatedBy: str


class RevealedSecret(SecretMeta):
    """get(..., reveal=True): the metadata and the value: valueBytes
    always, value the same as text when the bytes are UTF-8, else None."""

    value: Optional[str]
    valueBytes: bytes


class Deleted(TypedDict):
    deleted: bool
    name: str
    scope: Scope


class SecretVersion(TypedDict):
    version: int
    createdAt: str
    createdBy: str  # who wrote this version
    current: bool


class SecretVersions(TypedDict):
    name: str
    scope: Scope
    userId: Optional[str]
    versions: List[SecretVersion]  # newest (the current one) first


class TokenMeta(TypedDict):
    id: str
    userId: str
    orgId: str
    role: Literal["member", "admin"]
    description: str
    createdAt: str
    expiresAt: Optional[str]
    scopes: Optional[List[str]]  # ["tools:NAME", ...]; None: unscoped


class CreatedToken(TokenMeta):
    """tokens.create: the token itself, shown this once, and its metadata."""

    token: str


class Revoked(TypedDict):
    revoked: bool
    id: str


class ToolParam(TypedDict):
    name: str
    type: Literal["string", "number", "boolean"]
    required: bool
    # "in": path, query, body or stdin (a keyword in Python, so untyped)


class ToolAction(TypedDict):
    name: str
    description: str
    params: List[ToolParam]


class ToolSlot(TypedDict):
    slot: str
    defaultSecret: str


class Tool(TypedDict):
    name: str
    description: str
    type: Literal["http", "exec"]
    allow: Literal["members", "admins"]
    timeoutMs: int
    actions: List[ToolAction]
    credentials: List[ToolSlot]


class UsedCredential(TypedDict):
    slot: str
    name: str
    scope: Scope
    version: int


class ToolResult(TypedDict, total=False):
    """tools.execute: what the tool returned, with every value redacted.

    ok is False when the tool ran and failed (an HTTP status of 400 and
    up, a non-zero exit); that is an answer, not an exception."""

    tool: str
    action: str
    ok: bool
    result: Any
    status: int  # http tools
    exitCode: int  # exec tools
    stderr: str  # exec tools
    durationMs: int
    credentials: List[UsedCredential]
    redactions: int


class Health(TypedDict):
    status: str


# A credential override: a secret name (the caller's own, else the org's),
# or {"name": NAME, "orgWide": True} for the org's only ("org_wide" works
# too).
Override = Union[str, Dict[str, Any]]
ParamValue = Union[str, int, float, bool]
