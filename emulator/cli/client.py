"""A small HTTP client for the control plane (stdlib only, so the CLI starts fast)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from emulator.domain.admin_token import HEADER, read_token


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def error_message(self) -> str:
        """An AWS error body's code and message, for humans."""
        code = self.headers.get("x-amzn-errortype", f"HTTP {self.status}")
        try:
            body = self.json() or {}
            message = body.get("message") or body.get("Message") or ""
        except ValueError:
            message = self.body.decode(errors="replace")
        return f"{code}: {message}"


class PlaneClient:
    """A running control plane; its admin routes get the admin token: ``token``, else
    ``CLOUDMICRO_ADMIN_TOKEN``, else the one in ``state_dir`` (read when first needed)."""

    def __init__(self, endpoint: str, *, token: str | None = None, state_dir: Path | None = None) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._token = token
        self._state_dir = state_dir

    def token(self) -> str | None:
        if self._token is None:
            self._token = os.environ.get("CLOUDMICRO_ADMIN_TOKEN") or (
                read_token(self._state_dir) if self._state_dir is not None else None)
        return self._token

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 960) -> Reply:
        headers = dict(headers or {})
        token = self.token() if path.startswith("/_cloudmicro/") else None
        if token:
            headers[HEADER] = token
        if body is not None and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"  # urllib's default (a form) is refused
        req = urllib.request.Request(self.endpoint + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return Reply(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
        except urllib.error.HTTPError as err:
            return Reply(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())

    def healthy(self) -> bool:
        try:
            return self.request("GET", "/_cloudmicro/health", timeout=0.5).status == 200
        except OSError:
            return False

    def wait_for_seeding(self, timeout: float = 300) -> None:
        """Wait until the db_gen tables are seeded (a control plane started for one command)."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.request("GET", "/_cloudmicro/health", timeout=5).json()["seed"]["status"]
            if status not in ("idle", "seeding"):
                return
            time.sleep(0.05)

    def invoke(self, name: str, payload: bytes) -> Reply:
        return self.request("POST", f"/2015-03-31/functions/{quote(name, safe=':$')}/invocations", payload,
                            {"Content-Type": "application/json"})

    def invocation_log(self, request_id: str) -> str:
        reply = self.request("GET", f"/_cloudmicro/invocations/{request_id}/log", timeout=10)
        return reply.body.decode(errors="replace") if reply.status == 200 else ""

    def function_logs(self, name: str, cursor: int | None, *, limit: int = 10, wait: float = 0) -> Reply:
        """A function's recent invocation logs (after ``cursor``, waiting up to ``wait`` s for one)."""
        query = f"limit={limit}&wait={wait}" + (f"&cursor={cursor}" if cursor is not None else "")
        return self.request("GET", f"/_cloudmicro/functions/{quote(name, safe=':$')}/logs?{query}", timeout=wait + 10)

    def function_url(self, name: str) -> str | None:
        """The function's (unqualified) function URL; None when it has none."""
        reply = self.request("GET", f"/2021-10-31/functions/{quote(name, safe=':$')}/urls")
        if reply.status != 200:
            return None
        for config in reply.json().get("FunctionUrlConfigs", []):
            if config["FunctionArn"].endswith(f":function:{name}"):  # not an alias's
                return str(config["FunctionUrl"])
        return None

    def routes(self) -> list[dict[str, str]]:
        """Every API route and function URL the front door serves (``/_cloudmicro/routes``)."""
        reply = self.request("GET", "/_cloudmicro/routes")
        return list(reply.json().get("Routes", [])) if reply.status == 200 else []

    def list_functions(self) -> list[dict[str, Any]]:
        functions: list[dict[str, Any]] = []
        marker = ""
        while True:
            reply = self.request("GET", "/2015-03-31/functions" + (f"?Marker={quote(marker)}" if marker else ""))
            data = reply.json()
            functions += data["Functions"]
            marker = data.get("NextMarker", "")
            if not marker:
                return functions
