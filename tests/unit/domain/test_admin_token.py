"""The admin token (emulator/domain/admin_token.py): written once, readable by its owner only,
the same for every control plane and client of a state folder."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from emulator.domain.admin_token import FILE, code_signature, ensure_token, matches, read_token, token_file


def test_the_token_file_is_created_for_its_owner_only(tmp_path: Path):
    state = tmp_path / "state" / ".cloudmicro"
    token = ensure_token(state)
    path = token_file(state)
    assert path == state / FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == token + "\n"
    assert len(token) >= 40
    assert os.listdir(state) == [FILE]  # no scratch file left behind


def test_the_token_is_kept_across_calls_and_restarts(tmp_path: Path):
    first = ensure_token(tmp_path)
    assert ensure_token(tmp_path) == first
    assert read_token(tmp_path) == first


def test_another_state_folder_gets_another_token(tmp_path: Path):
    assert ensure_token(tmp_path / "a") != ensure_token(tmp_path / "b")


def test_a_token_already_written_is_used_as_is(tmp_path: Path):
    token_file(tmp_path).write_text("  written-by-hand \n")
    assert ensure_token(tmp_path) == "written-by-hand"
    assert token_file(tmp_path).read_text() == "  written-by-hand \n"


def test_read_token_is_none_without_a_token(tmp_path: Path):
    assert read_token(tmp_path / "missing") is None
    token_file(tmp_path).write_text("\n")
    assert read_token(tmp_path) is None


def test_matches_only_the_same_token():
    assert matches("abc", "abc")
    assert not matches("abc", "abd")
    assert not matches("abc", "")
    assert not matches("abc", None)


def test_a_code_link_signature_is_bound_to_token_function_and_expiry():
    signature = code_signature("token", "fn", 1_700_000_000)
    assert len(signature) == 64 and int(signature, 16) >= 0
    assert code_signature("token", "fn", 1_700_000_000) == signature
    others = {code_signature("other", "fn", 1_700_000_000), code_signature("token", "fn2", 1_700_000_000),
              code_signature("token", "fn", 1_700_000_001)}
    assert signature not in others and len(others) == 3
