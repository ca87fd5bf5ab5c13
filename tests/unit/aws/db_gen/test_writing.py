"""db_gen.writing: the seed report and the progress display (the service calls: tests/integration)."""

from __future__ import annotations

import io

from emulator.aws.db_gen.writing import Progress, SeedReport, TableResult

# --------------------------------------------------------------------------- report


def test_seed_report_ok_and_summary():
    report = SeedReport([
        TableResult("words", 21, 0.25),
        TableResult("broken", 0, 0.0, "invalid JSON at line 2, column 3: Expecting value", "db_gen/tables/broken.json"),
    ])
    assert not report.ok
    assert [r.table for r in report.errors] == ["broken"]
    text = report.summary()
    assert "1 table seeded (21 items), 1 error" in text
    assert "words" in text and "21 items in 0.25 s" in text
    assert "ERROR db_gen/tables/broken.json: invalid JSON at line 2, column 3" in text
    assert SeedReport([]).ok
    assert "no tables" in SeedReport([]).summary()


# --------------------------------------------------------------------------- progress


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_lines_when_not_a_tty():
    stream = io.StringIO()
    bar = Progress(stream, "big", 100)
    for _ in range(10):
        bar.advance(10)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("big: 10/100 items (10%)")
    assert lines[-1].startswith("big: 100/100 items (100%)")
    assert len(lines) == 10


def test_progress_bar_on_a_tty():
    stream = FakeTTY()
    bar = Progress(stream, "big", 50, width=10)
    bar.advance(25)
    bar.advance(25)
    bar.close()
    text = stream.getvalue()
    assert text.startswith("\rbig [#####-----] 25/50  50%")
    assert "\rbig [##########] 50/50 100%" in text
    assert text.endswith("\n")
