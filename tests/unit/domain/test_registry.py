"""Functions from folders and from the API."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import pytest

from emulator.domain.errors import (
    InvalidParameterValueException,
    ResourceConflictException,
    ResourceNotFoundException,
)
from emulator.domain.functions import parse_function_name
from emulator.domain.registry import FunctionRegistry


def registry(tmp_path):
    return FunctionRegistry(tmp_path / "functions", tmp_path / "state", "us-east-1", "123456789012")


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def zipped(files: dict[str, str]) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return base64.b64encode(buffer.getvalue()).decode()


def test_zero_config_and_config_file_functions(tmp_path):
    write(tmp_path / "functions/hello/hello.py", "def hello_handler(e, c): pass\n")
    write(tmp_path / "functions/api/app.py", "def main(e, c): pass\n")
    write(tmp_path / "functions/api/function.json", json.dumps({
        "Handler": "app.main", "Timeout": 30, "MemorySize": 512,
        "Environment": {"Variables": {"STAGE": "local"}}, "ReservedConcurrentExecutions": 2,
    }))
    write(tmp_path / "functions/notes/README.md", "not a function\n")
    reg = registry(tmp_path)
    reg.load_folders()
    assert [f.name for f in reg.list()] == ["api", "hello"]
    hello = reg.get("hello")
    assert (hello.handler, hello.runtime, hello.timeout, hello.memory_size) == (
        "hello.hello_handler", "python3.11", 3, 128)
    api = reg.get("arn:aws:lambda:us-east-1:123456789012:function:api")
    assert (api.handler, api.timeout, api.memory_size, api.reserved_concurrency) == ("app.main", 30, 512, 2)
    assert api.environment == {"STAGE": "local"}
    assert api.code_sha256 and api.code_size > 0


@pytest.mark.parametrize(
    "config, complaint",
    [
        ("{not json", "not valid JSON (line 1"),
        ('{"Timeout": 0}', "Timeout must be an integer from 1 to 900"),
        ('{"MemorySize": 64}', "MemorySize must be an integer from 128 to 10240"),
        ('{"Runtime": "python2.7"}', "runtime 'python2.7' is not supported"),
        ('{"Handlr": "x.y"}', "unknown field(s) Handlr"),
        ('{"Environment": {"Variables": {"AWS_REGION": "x"}}}', "reserved keys"),
        ('{"Environment": ["A=1"]}', 'Environment must look like {"Variables"'),
    ],
)
def test_a_bad_config_names_the_file_and_the_problem_and_others_still_load(tmp_path, config, complaint):
    write(tmp_path / "functions/bad/bad.py", "")
    write(tmp_path / "functions/bad/function.json", config)
    write(tmp_path / "functions/good/good.py", "")
    reg = registry(tmp_path)
    reg.load_folders()
    assert [f.name for f in reg.list()] == ["good"]
    assert complaint in reg.load_errors["bad"]
    with pytest.raises(ResourceNotFoundException) as err:
        reg.get("bad")
    assert complaint in err.value.message


def test_create_update_delete_through_the_api(tmp_path):
    reg = registry(tmp_path)
    created = reg.create({
        "FunctionName": "zipped", "Runtime": "python3.11", "Handler": "app.handler",
        "Role": "arn:aws:iam::123456789012:role/r", "Code": {"ZipFile": zipped({"app.py": "x = 1\n"})},
    })
    assert (created.code_dir / "app.py").read_text() == "x = 1\n"
    with pytest.raises(ResourceConflictException, match="Function already exist: zipped"):
        reg.create({"FunctionName": "zipped", "Runtime": "python3.11", "Handler": "a.b",
                    "Code": {"ZipFile": zipped({})}})
    updated = reg.update_code("zipped", {"ZipFile": zipped({"app.py": "x = 2\n"})})
    assert updated.revision_id != created.revision_id and updated.code_sha256 != created.code_sha256
    assert (updated.code_dir / "app.py").read_text() == "x = 2\n"
    configured = reg.update_configuration("zipped", {"Timeout": 10})
    assert configured.timeout == 10 and configured.handler == "app.handler"
    with pytest.raises(InvalidParameterValueException, match="Could not unzip"):
        reg.update_code("zipped", {"ZipFile": base64.b64encode(b"not a zip").decode()})
    reg.delete("zipped")
    with pytest.raises(ResourceNotFoundException):
        reg.get("zipped")


def test_function_names_partial_and_full_arns():
    assert parse_function_name("my-fn").name == "my-fn"
    assert parse_function_name("my-fn:$LATEST").qualifier == "$LATEST"
    assert parse_function_name("123456789012:function:my-fn").name == "my-fn"
    ref = parse_function_name("arn:aws:lambda:eu-west-1:123456789012:function:my-fn:prod")
    assert (ref.name, ref.qualifier) == ("my-fn", "prod")
    assert parse_function_name("bad name!") is None


def test_folder_digest_leaves_out_a_file_deleted_while_it_hashes(tmp_path, monkeypatch):
    from emulator.domain import functions

    write(tmp_path / "fn" / "fn.py", "x = 1\n")
    expected = functions.folder_digest(tmp_path / "fn")
    listed = functions._files
    # the listing still has a file that is gone by the time it is read (deleted by a save)
    monkeypatch.setattr(functions, "_files", lambda folder: [*listed(folder), folder / "gone.py"])
    assert functions.folder_digest(tmp_path / "fn") == expected


def test_folder_digest_skips_pycache_and_does_not_enter_linked_folders(tmp_path):
    from emulator.domain.functions import folder_digest

    write(tmp_path / "fn" / "fn.py", "x = 1\n")
    before = folder_digest(tmp_path / "fn")
    write(tmp_path / "fn" / "__pycache__" / "fn.cpython-311.pyc", "\0")
    write(tmp_path / "elsewhere" / "big.py", "y = 2\n")
    (tmp_path / "fn" / "linked").symlink_to(tmp_path / "elsewhere")
    assert folder_digest(tmp_path / "fn") == before
