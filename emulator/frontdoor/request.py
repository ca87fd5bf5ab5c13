"""An HTTP request as the front door received it, before any service shapes it into an event.

Pure and standard library only: the serving code fills an :class:`HttpRequest` from the wire,
the builders in :mod:`emulator.frontdoor.events` read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

__all__ = ["HttpRequest"]


@dataclass(frozen=True, kw_only=True)
class HttpRequest:
    """One request: ``path`` is decoded (after any stage or prefix the caller stripped),
    ``raw_path`` percent-encoded as on the wire, ``query`` the raw query string without ``?``,
    ``headers`` as received (original case, repeats kept, in order)."""

    method: str
    path: str
    raw_path: str
    query: bytes
    headers: tuple[tuple[str, str], ...]
    body: bytes
    source_ip: str
    scheme: str = "http"
    host: str

    def header(self, name: str) -> str | None:
        """The first value of the header ``name`` (any case), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        """Every value of the header ``name`` (any case), in the order received."""
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    def multi_headers(self) -> dict[str, list[str]]:
        """Header name -> its values in order; names that differ only in case are merged under
        the spelling that came first."""
        spelling: dict[str, str] = {}
        merged: dict[str, list[str]] = {}
        for key, value in self.headers:
            name = spelling.setdefault(key.lower(), key)
            merged.setdefault(name, []).append(value)
        return merged

    @property
    def raw_query(self) -> str:
        """The query string as text (undecoded)."""
        return self.query.decode("utf-8", "replace")

    def query_pairs(self) -> list[tuple[str, str]]:
        """The query's (name, value) pairs, percent-decoded, blank values kept, in order."""
        return parse_qsl(self.raw_query, keep_blank_values=True)

    def cookies(self) -> list[str]:
        """The cookies of every ``Cookie`` header, as ``name=value`` strings, in order."""
        return [part.strip() for value in self.header_values("cookie") for part in value.split(";")
                if part.strip()]
