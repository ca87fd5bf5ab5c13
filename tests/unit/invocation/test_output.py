"""A function's output, bounded however much it prints (emulator/invocation/output.py): head and tail
in memory, a note of what was left out, the whole output in a spill file."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.invocation import output
from emulator.invocation.output import HEAD, TAIL, Output

MB = 1024 * 1024


def pattern(size: int) -> bytes:
    return bytes(range(256)) * (size // 256) + bytes(range(size % 256))


def test_small_output_is_kept_whole_and_writes_no_file(tmp_path: Path):
    out = Output(tmp_path / "logs" / "fn.log")
    assert not out and len(out) == 0
    out.add(b"")
    assert not out
    out.add(b"START\n")
    out.add(b"hello\n")
    assert bool(out) and len(out) == 12
    assert out.kept() == bytes(out) == b"START\nhello\n"
    assert (out.dropped, out.path) == (0, None)
    assert not (tmp_path / "logs").exists()


def test_output_that_just_fits_in_memory_is_kept_whole():
    data = pattern(HEAD + TAIL)
    out = Output()
    out.add(data)
    assert out.kept() == data and out.dropped == 0


def test_large_output_keeps_head_and_tail_and_says_how_much_was_left_out():
    data = pattern(3 * MB)
    out = Output()
    for at in range(0, len(data), 65536):
        out.add(data[at:at + 65536])
    left_out = len(data) - HEAD - TAIL
    assert (out.total, out.dropped, out.path) == (len(data), left_out, None)
    kept = out.kept()
    note = f"\n[cloudmicro: {left_out:,} bytes of output left out here]\n".encode()
    assert kept == data[:HEAD] + note + data[-TAIL:]


def test_once_output_outgrows_memory_all_of_it_goes_to_the_spill_file(tmp_path: Path):
    spill = tmp_path / "logs" / "fn-1.log"
    data = pattern(2 * MB + 17)
    out = Output(spill)
    for at in range(0, len(data), 100_000):
        out.add(data[at:at + 100_000])
    out.close()
    assert spill.read_bytes() == data
    assert (out.path, out.spilled) == (spill, len(data))
    assert f"left out here; the whole output is in {spill}]".encode() in out.kept()
    assert out.kept().endswith(data[-TAIL:])


def test_the_spill_file_stops_at_its_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(output, "MAX_SPILL", 400_000)
    spill = tmp_path / "fn.log"
    data = pattern(MB)
    out = Output(spill)
    out.add(data[:300_000])
    out.add(data[300_000:])
    out.close()
    assert spill.read_bytes() == data[:400_000]
    assert out.spilled == 400_000
    assert out.kept().endswith(data[-TAIL:])


def test_a_spill_file_that_cannot_be_written_leaves_the_output_bounded(tmp_path: Path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    out = Output(blocker / "fn.log")
    data = pattern(MB)
    out.add(data)
    assert out.path is None
    assert out.kept() == data[:HEAD] + f"\n[cloudmicro: {MB - HEAD - TAIL:,} bytes of output left out here]\n".encode() \
        + data[-TAIL:]


def test_absorbing_another_output_keeps_its_head_tail_and_count(tmp_path: Path):
    data = pattern(MB)
    environment = Output()
    environment.add(data)
    invocation = Output()
    invocation.absorb(environment)
    assert (invocation.total, invocation.dropped) == (MB, MB - HEAD - TAIL)
    kept = invocation.kept()
    assert kept.startswith(data[:HEAD]) and kept.endswith(data[-TAIL:])
    assert f"[cloudmicro: {MB - HEAD - TAIL:,} bytes of output left out here]".encode() in kept


def test_absorbing_a_small_output_is_plain_concatenation():
    first, second = Output(), Output()
    first.add(b"init\n")
    second.add(b"invoke\n")
    first.absorb(second)
    assert bytes(first) == b"init\ninvoke\n" and len(first) == 12
