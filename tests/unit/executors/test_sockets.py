"""Who is at the other end of a loopback TCP connection (emulator/executors/sockets.py)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.executors import sockets
from emulator.executors.sockets import PROC_NET_TCP, new_uid, peer_uid


@pytest.fixture
def connection() -> Iterator[tuple[tuple[str, int], tuple[str, int]]]:
    """A loopback connection as its server sees it: (peername, sockname)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname()) as client:
            accepted, peer = server.accept()
            with accepted:
                assert peer == client.getsockname()
                yield peer, accepted.getsockname()


def test_the_peer_of_a_loopback_connection_is_this_user(connection):
    peer, server = connection
    assert peer_uid(peer, server) == os.getuid()


def test_the_proc_table_names_the_same_user(connection):
    peer, server = connection
    assert sockets._table_uid(peer, server, PROC_NET_TCP) == os.getuid()


def test_without_sock_diag_the_table_is_read(connection, monkeypatch: pytest.MonkeyPatch):
    def no_netlink(peer, server):
        raise OSError("no netlink here")

    monkeypatch.setattr(sockets, "_diag_uid", no_netlink)
    peer, server = connection
    assert peer_uid(peer, server) == os.getuid()


def test_a_connection_nobody_owns_has_no_uid(connection):
    _, server = connection
    assert peer_uid(("127.0.0.1", 1), server) is None
    assert sockets._table_uid(("127.0.0.1", 1), server, PROC_NET_TCP) is None


TABLE = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 1234567        0 2222 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 3333 1 0000000000000000 20 4 30 10 -1"""


def test_the_table_is_read_as_the_kernel_writes_it(tmp_path: Path):
    table = tmp_path / "tcp"
    table.write_text(TABLE)
    assert sockets._hex(("127.0.0.1", 8080)) == "0100007F:1F90"
    assert sockets._table_uid(("127.0.0.1", 50000), ("127.0.0.1", 8080), table) == 1234567
    assert sockets._table_uid(("127.0.0.1", 50001), ("127.0.0.1", 8080), table) is None
    assert sockets._table_uid(("127.0.0.1", 50000), ("127.0.0.1", 8080), tmp_path / "missing") is None
    assert sockets._table_uid(("not an address", 1), ("127.0.0.1", 8080), table) is None


def test_environment_uids_are_far_from_people_and_system_users():
    uids = {new_uid() for _ in range(100)}
    assert len(uids) > 90
    assert all(1 << 20 <= uid < 1 << 30 for uid in uids)
