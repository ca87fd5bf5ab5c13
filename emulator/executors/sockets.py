"""Who is at the other end of a loopback TCP connection, and a user id of its own for each
environment, so that an environment's Runtime API serves its own runtime only.

Functions share the host's network (a network namespace per container would double a Docker cold
start here: about +150 ms each), so any of them can open any environment's Runtime API port.
Each environment's runtime therefore runs as a user id of its own (:func:`new_uid`), and the
Runtime API checks every new connection: the kernel's table of TCP sockets
(``/proc/net/tcp``, readable by every user) names the uid that owns the connecting socket
(:func:`peer_uid`). A connection from any other uid - another environment, another program -
is closed before it sends a byte. The kernel is asked through its socket-diagnostics netlink
(what ``ss`` uses: one socket looked up by its addresses, tens of microseconds), else from
``/proc/net/tcp`` (a few milliseconds: the kernel walks every socket). Once per connection; the
runtimes keep theirs open.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import struct
from pathlib import Path

#: the kernel's IPv4 TCP sockets of this network namespace
PROC_NET_TCP = Path("/proc/net/tcp")
#: the group environments run as (AWS's sbx_user1051 is 993:990)
GID = 990
#: the user ids environments get: random, far from the system's and people's (and other control
#: planes' environments: 2^30 of them)
_UID_RANGE = (1 << 20, 1 << 30)


def new_uid() -> int:
    """A user id for one environment's runtime."""
    return _UID_RANGE[0] + secrets.randbelow(_UID_RANGE[1] - _UID_RANGE[0])


def can_tell() -> bool:
    """Whether this machine shows the owners of TCP sockets (Linux)."""
    return PROC_NET_TCP.exists()


def _hex(address: tuple[str, int]) -> str:
    """An IPv4 address and port as ``/proc/net/tcp`` writes them (``0100007F:1F90``)."""
    packed = ipaddress.IPv4Address(address[0]).packed
    return f"{int.from_bytes(packed, 'little'):08X}:{address[1]:04X}"


_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 1
_NLMSG_ERROR = 2
_NO_COOKIE = 0xFFFFFFFF


def _diag_uid(peer: tuple[str, int], server: tuple[str, int]) -> int | None:
    """The owner of the socket ``peer`` (connected to ``server``) from the kernel's sock_diag."""
    src = ipaddress.IPv4Address(peer[0]).packed + bytes(12)
    dst = ipaddress.IPv4Address(server[0]).packed + bytes(12)
    sockid = struct.pack("!HH", peer[1], server[1]) + src + dst + struct.pack("=III", 0, _NO_COOKIE, _NO_COOKIE)
    request = struct.pack("=BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + sockid
    header = struct.pack("=IHHII", 16 + len(request), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, 1, 0)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as diag:
        diag.settimeout(1)
        diag.sendto(header + request, (0, 0))
        reply = diag.recv(8192)
    if len(reply) < 88 or struct.unpack_from("=H", reply, 4)[0] == _NLMSG_ERROR:
        return None
    return int(struct.unpack_from("=I", reply, 16 + 4 + 48 + 12)[0])  # inet_diag_msg.idiag_uid


def peer_uid(peer: tuple[str, int], server: tuple[str, int], table: Path = PROC_NET_TCP) -> int | None:
    """The uid owning the client socket of the connection ``peer`` -> ``server`` (the server's
    view of it: peername and sockname), or None when the kernel does not show it."""
    try:
        return _diag_uid(peer, server)
    except (OSError, ValueError, struct.error):
        pass  # no sock_diag here (a kernel without it, or no netlink): the table
    return _table_uid(peer, server, table)


def _table_uid(peer: tuple[str, int], server: tuple[str, int], table: Path) -> int | None:
    try:
        text = table.read_text()
        key = f" {_hex(peer)} {_hex(server)} "
    except (OSError, ValueError):
        return None
    at = text.find(key)
    if at < 0:
        return None
    end = text.find("\n", at)
    fields = text[at:end if end >= 0 else len(text)].split()
    # local, remote, state, tx:rx, tr:when, retransmits, uid, timeout, inode
    try:
        return int(fields[6])
    except (IndexError, ValueError):
        return None
