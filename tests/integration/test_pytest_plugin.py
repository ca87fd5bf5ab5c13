"""The pytest plugin, used the way a project uses it: a project folder with functions/,
db_gen/ and tests that only name the plugin's fixtures, run by pytest in a subprocess."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PROJECT_TESTS = '''
import pytest
from emulator.testing.pytest_plugin import FunctionError


def test_invoke(cloudmicro_invoke):
    assert cloudmicro_invoke("hello", {"first_name": "Ada", "last_name": "L"}) == {"message": "Hello Ada L!"}


def test_seeded_table_and_a_function_reading_it(cloudmicro_client, cloudmicro_invoke):
    assert "words" in cloudmicro_client("dynamodb").list_tables()["TableNames"]
    assert cloudmicro_invoke("getWords", {})


def test_function_errors_raise(cloudmicro_invoke):
    with pytest.raises(FunctionError) as err:
        cloudmicro_invoke("hello", {})
    assert err.value.error["errorType"] == "KeyError"


def test_endpoint_is_loopback_and_ephemeral(cloudmicro_endpoint):
    assert cloudmicro_endpoint.startswith("http://127.0.0.1:") and not cloudmicro_endpoint.endswith(":4566")
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("hello", "getWords"):
        shutil.copytree(ROOT / "functions" / name, tmp_path / "functions" / name)
    shutil.copytree(ROOT / "db_gen", tmp_path / "db_gen")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_functions.py").write_text(PROJECT_TESTS)
    return tmp_path


@pytest.mark.parametrize("executor", ["docker", "process"])
def test_a_projects_tests_run_with_the_plugin_alone(project, executor, docker_engine):
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--cloudmicro-executor={executor}",
         "tests"], cwd=project, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout
