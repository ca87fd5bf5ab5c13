"""The AWS backend as the control plane sees it: an ASGI app answering every AWS API but Lambda,
with health, reset, and the transport the control plane's own clients should use.

:mod:`emulator.moto.backends` has the two kinds (moto embedded, or an external moto server).
"""

from __future__ import annotations

from typing import Any, Protocol

from emulator.aws.clients import LocalSqs, Transport


class AwsBackend(Protocol):
    """An ASGI app answering AWS APIs, plus health and reset."""

    mode: str

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None: ...

    async def health(self) -> dict[str, Any]: ...

    async def reset(self) -> None: ...

    async def aclose(self) -> None: ...

    def transport(self) -> Transport | None:
        """How the control plane's own clients reach this backend (None: HTTP, via the endpoint)."""

    def local_sqs(self) -> LocalSqs | None:
        """The pollers' SQS calls without a request (None: through the clients)."""
