"""The one exception every failure of the client surfaces as."""

from __future__ import annotations

from typing import Optional

# Codes of failures that never got an answer from the server (status None).
CONNECTION_FAILED = "connection_failed"  # nothing listening, no socket file
CONNECTION_LOST = "connection_lost"  # the server hung up mid-request
TIMEOUT = "timeout"  # connecting or waiting for the answer took too long
TLS_ERROR = "tls_error"  # handshake or certificate verification failed
BAD_RESPONSE = "bad_response"  # not HTTP, or not the JSON the API sends
INVALID_CONFIG = "invalid_config"  # URL, token or token file refused locally
INVALID_ARGUMENT = "invalid_argument"  # a call's argument refused locally

# The API's codes by HTTP status, for answers without an error object.
_STATUS_CODES = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}


def code_for_status(status: int) -> str:
    return _STATUS_CODES.get(status, "http_%d" % status)


class RunToolsError(Exception):
    """A call failed.

    status: the HTTP status of the API's answer, or None when there was no
        answer (then code says why: connection_failed, connection_lost,
        timeout, tls_error, bad_response, invalid_config, invalid_argument).
    code: the API's error code ("forbidden", "not_found", ...) or one of
        the codes above.
    message: a human-readable sentence; never holds a secret value or token.
    request_id: the server's request id (X-Request-Id), when it answered.
    """

    status: Optional[int]
    code: str
    message: str
    request_id: Optional[str]

    def __init__(self, code: str, message: str, *,
                 status: Optional[int] = None,
                 request_id: Optional[str] = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id

    def __str__(self) -> str:
        head = self.code if self.status is None else "%d %s" % (self.status,
                                                               self.code)
        tail = " (request %s)" % self.request_id if self.request_id else ""
        return "%s: %s%s" % (head, self.message, tail)

    def __repr__(self) -> str:
        return "RunToolsError(status=%r, code=%r, message=%r, " \
            "request_id=%r)" % (self.status, self.code, self.message,
                                self.request_id)
