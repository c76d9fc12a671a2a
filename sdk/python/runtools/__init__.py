"""A Python client for secretd, the RunTools secrets API.

    import runtools
    rt = runtools.Client()      # RUNTOOLS_URL, RUNTOOLS_TOKEN, ...
    revealed = rt.secrets.get("ANTHROPIC_API_KEY", reveal=True)

Standard library only.  Every failure is a runtools.RunToolsError with
status, code, message and request_id.
"""

from ._client import (DEFAULT_TIMEOUT, DEFAULT_TOOL_TIMEOUT, DEFAULT_URL,
                      Client, Page, Secrets, Tokens, Tools, __version__)
from ._errors import RunToolsError
from ._types import (CreatedToken, Deleted, Health, Revoked, RevealedSecret,
                     SecretMeta, SecretVersion, SecretVersions, TokenMeta,
                     Tool, ToolResult)

__all__ = [
    "Client", "RunToolsError", "Page", "Secrets", "Tokens", "Tools",
    "SecretMeta", "RevealedSecret", "SecretVersion", "SecretVersions",
    "Deleted", "TokenMeta", "CreatedToken",
    "Revoked", "Tool", "ToolResult", "Health", "DEFAULT_URL",
    "DEFAULT_TIMEOUT", "DEFAULT_TOOL_TIMEOUT", "__version__",
]
