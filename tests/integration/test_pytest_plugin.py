"""The pytest plugin, used the way a project uses it: a project folder with functions/,
db_gen/ and tests that only name the plugin's fixtures, run by pytest in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
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


MIXED_TESTS = '''
import boto3
from moto import mock_aws


def test_before(cloudmicro_client):
    assert "words" in cloudmicro_client("dynamodb").list_tables()["TableNames"]
    cloudmicro_client("sqs").create_queue(QueueName="kept")


@mock_aws
def test_a_unit_test_with_moto_in_process():
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    assert ddb.list_tables()["TableNames"] == []  # its own, empty moto


def test_after(cloudmicro_client, cloudmicro_invoke):
    # the unit test above reset moto in this process: the local cloud was not touched
    assert "words" in cloudmicro_client("dynamodb").list_tables()["TableNames"]
    assert cloudmicro_client("sqs").get_queue_url(QueueName="kept")["QueueUrl"]
    assert cloudmicro_invoke("getWords", {})
'''


def test_mock_aws_unit_tests_do_not_disturb_the_local_cloud(project):
    (project / "tests" / "test_functions.py").write_text(MIXED_TESTS)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                           "--cloudmicro-executor=process", "tests"],
                          cwd=project, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


FAILING_TESTS = '''
def test_fails(cloudmicro_invoke):
    print("never")
    cloudmicro_invoke("hello", {})


def test_per_test_server(cloudmicro_test_server):
    import os, urllib.request
    cloud = cloudmicro_test_server(seed_on_start=False)
    with urllib.request.urlopen(cloud.endpoint + "/_cloudmicro/health") as reply:
        assert reply.status == 200
    with open(os.environ["ENDPOINT_FILE"], "w") as out:
        out.write(cloud.endpoint)
'''


def test_a_failed_invoke_names_the_control_planes_log(project, tmp_path):
    (project / "tests" / "test_functions.py").write_text(FAILING_TESTS)
    basetemp, endpoint_file = tmp_path / "basetemp", tmp_path / "per-test-endpoint"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--cloudmicro-executor=process", f"--basetemp={basetemp}", "tests"],
                          cwd=project, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "ENDPOINT_FILE": str(endpoint_file)})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed, 1 passed" in done.stdout
    [log] = [line.split("the control plane's log: ")[1].rstrip(")") for line in done.stdout.splitlines()
             if "hello failed" in line and "the control plane's log: " in line][:1]
    text = Path(log).read_text()
    assert "START RequestId:" in text and "KeyError" in text and "REPORT RequestId:" in text
    assert f"cloudmicro: the control planes' logs are in {Path(log).parent}" in done.stdout
    # the per-test control plane was stopped when its test ended
    per_test = endpoint_file.read_text()
    with pytest.raises(OSError):
        urllib.request.urlopen(per_test + "/_cloudmicro/health", timeout=2)


HANGING_TEST = '''
import os, time
from pathlib import Path


def test_hang(cloudmicro_endpoint):
    Path(os.environ["ENDPOINT_FILE"]).write_text(cloudmicro_endpoint)
    time.sleep(120)
'''


def test_the_control_plane_goes_when_the_test_process_is_killed(project, tmp_path):
    (project / "tests" / "test_functions.py").write_text(HANGING_TEST)
    endpoint_file = tmp_path / "endpoint"
    pytest_process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--cloudmicro-executor=process", "tests"],
        cwd=project, env={**os.environ, "ENDPOINT_FILE": str(endpoint_file)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not endpoint_file.exists():
            assert time.monotonic() < deadline and pytest_process.poll() is None, "the session did not start"
            time.sleep(0.05)
        endpoint = endpoint_file.read_text()
        with urllib.request.urlopen(endpoint + "/_cloudmicro/health", timeout=5) as reply:
            assert reply.status == 200
    finally:
        pytest_process.kill()  # no teardown runs
        pytest_process.wait()
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(endpoint + "/_cloudmicro/health", timeout=1).close()
        except OSError:
            break  # gone by itself
        assert time.monotonic() < deadline, "the control plane outlived the killed test session"
        time.sleep(0.1)


DEPS_TESTS = '''
def test_tabulate(cloudmicro_invoke):
    assert cloudmicro_invoke("tab", {})["table"] == "a  1"
'''


def test_installed_requirements_are_reused_by_the_next_session(project, tmp_path):
    tab = project / "functions" / "tab"
    tab.mkdir()
    (tab / "tab.py").write_text("import tabulate\n\n\ndef tab_handler(event, context):\n"
                                "    return {'table': tabulate.tabulate([['a', 1]], tablefmt='plain')}\n")
    (tab / "requirements.txt").write_text("tabulate==0.9.0\n")
    (project / "tests" / "test_functions.py").write_text(DEPS_TESTS)
    installs = []
    for run in ("first", "second"):
        basetemp = tmp_path / run
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "--cloudmicro-executor=process", f"--basetemp={basetemp}", "tests"],
                              cwd=project, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        logs = "".join(p.read_text() for p in (basetemp / "cloudmicro-logs").glob("*.log"))
        installs.append(logs.count("installing requirements.txt"))
    assert installs == [1, 0]
    assert len([p for p in (project / ".cloudmicro" / "deps").iterdir() if not p.name.startswith(".")]) == 1


def test_a_failing_tests_report_shows_the_log_it_caused(project):
    (project / "tests" / "test_functions.py").write_text(FAILING_TESTS)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--cloudmicro-executor=process", "tests/test_functions.py::test_fails"],
                          cwd=project, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    section = done.stdout.split("Captured cloudmicro log (http://127.0.0.1:", 1)[1]
    assert "START RequestId:" in section and "[ERROR] KeyError" in section and "REPORT RequestId:" in section
