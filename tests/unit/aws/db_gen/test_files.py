"""db_gen.files: the error that names a db_gen file."""

from __future__ import annotations

from pathlib import Path

from emulator.aws.db_gen.files import DbGenError


def test_db_gen_error_names_file_and_message():
    error = DbGenError(Path("db_gen/tables/x.json"), "bad things")
    assert str(error) == "db_gen/tables/x.json: bad things"
    assert (error.file, error.message) == ("db_gen/tables/x.json", "bad things")
