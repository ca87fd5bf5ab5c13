"""Regression (emulator/invocation/output.py): an invocation's Output that absorbs an
environment's spilled output appends head and tail again to the environment's spill file, so the
file the note names as "the whole output" holds 256 KB more than the function printed."""

from __future__ import annotations

from pathlib import Path

from emulator.invocation.output import Output
from tests.unit.invocation.test_output import MB, pattern


def test_the_file_named_after_absorbing_holds_exactly_the_whole_output(tmp_path: Path):
    spill = tmp_path / "logs" / "fn-env-1.log"
    data = pattern(2 * MB)
    environment = Output(spill)
    environment.add(data)
    invocation = Output()  # Invocation.output, as Environment._take_output uses it
    invocation.absorb(environment)
    invocation.close()
    assert f"the whole output is in {spill}]".encode() in invocation.kept()
    written = spill.read_bytes()
    assert len(written) == len(data)
    assert written == data
