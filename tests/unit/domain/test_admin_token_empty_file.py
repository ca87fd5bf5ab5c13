"""Regression (emulator/domain/admin_token.py): with an empty admin-token file (truncated,
or touched by hand) ensure_token returns a fresh random token it writes nowhere (os.link finds the
file there), so the control plane asks for a token no client can read: read_token says None."""

from __future__ import annotations

from pathlib import Path

from emulator.domain.admin_token import ensure_token, read_token, token_file


def test_the_token_a_control_plane_uses_is_the_one_clients_read(tmp_path: Path):
    token_file(tmp_path).write_text("")
    token = ensure_token(tmp_path)
    assert read_token(tmp_path) == token
    assert ensure_token(tmp_path) == token
