"""The proof of the local user that Cloudmicro's admin routes ask for.

A control plane's admin routes (``/_cloudmicro``: reset, environments, code, logs, the schedules'
clock and ``run``) need the header ``X-Cloudmicro-Admin-Token``. The token is
``CLOUDMICRO_ADMIN_TOKEN`` when that is set, else a random one the control plane writes to
``<state dir>/admin-token`` (mode 0600) when it starts and keeps across restarts. Whoever can
read that file (the developer, the CLI, the pytest plugin, the compose stack that mounts the
state folder) can use the admin routes; a web page cannot, and neither can a function (the
state folder is not mounted in its container, and a process executor's functions run as another
user when the control plane runs as root).
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

HEADER = "X-Cloudmicro-Admin-Token"
FILE = "admin-token"


def token_file(state_dir: Path) -> Path:
    return state_dir / FILE


def ensure_token(state_dir: Path) -> str:
    """The token in ``<state dir>/admin-token``, written first (0600) when there is none."""
    path = token_file(state_dir)
    existing = read_token(state_dir)
    if existing:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    scratch = path.with_name(f".{FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    try:
        os.link(scratch, path)  # never replaces a token another control plane wrote meanwhile
    except FileExistsError:
        if read_token(state_dir) is None:  # an empty file (truncated, or touched by hand): ours replaces it
            os.replace(scratch, path)
            return token
    finally:
        scratch.unlink(missing_ok=True)
    return read_token(state_dir) or token


def read_token(state_dir: Path) -> str | None:
    try:
        return token_file(state_dir).read_text().strip() or None
    except OSError:
        return None


def matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def code_signature(token: str, name: str, expires: int) -> str:
    """The signature of a code download link (GetFunction's ``Code.Location``), valid until
    ``expires`` (epoch seconds): like S3's presigned URLs, it lets a client without the token
    fetch that one function's code for a while, and nothing else."""
    return hmac.new(token.encode(), f"code:{name}:{expires}".encode(), "sha256").hexdigest()
