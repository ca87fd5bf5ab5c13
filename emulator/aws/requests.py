"""What an AWS request says of itself, read from its ASGI scope without reading the body."""

from __future__ import annotations

import re
from typing import Any

_SCOPE = re.compile(rb"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_QUERY_SCOPE = re.compile(rb"X-Amz-Credential=[^&/]+(?:/|%2F)\d{8}(?:/|%2F)[^&/%]+(?:/|%2F)([^&/%]+)(?:/|%2F)")


def signed_service(scope: dict[str, Any]) -> str | None:
    """The service a SigV4-signed request is for, or None when it is unsigned."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            match = _SCOPE.search(value)
            return match.group(1).decode() if match else None
    query = scope.get("query_string", b"")
    if b"X-Amz-Credential" in query:
        match = _QUERY_SCOPE.search(query)
        return match.group(1).decode() if match else None
    return None
