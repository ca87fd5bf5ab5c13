"""Scaffolding: ``cloudmicro new function``, ``cloudmicro new project`` and ``cloudmicro events
generate``, run the way a developer runs them, and what they make run on a control plane."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from emulator.app.server import free_port
from emulator.cli.main import main
from emulator.cli.sample_events import SOURCES
from emulator.cli.scaffold import handler_name, requirement_for
from emulator.domain.registry import FunctionRegistry
from tests.conftest import ROOT, lambda_client
from tests.integration.test_compose import base_image, untag_images


def cloudmicro(*args: str, cwd: Path, env: dict[str, str] | None = None,
               timeout: float = 300) -> subprocess.CompletedProcess:
    environment = {**os.environ, "CLOUDMICRO_ENDPOINT": f"http://127.0.0.1:{free_port()}", **(env or {})}
    for name in ("CLOUDMICRO_FUNCTIONS_DIR", "CLOUDMICRO_PROJECT_DIR", "CLOUDMICRO_DB_GEN_DIR"):
        if name not in (env or {}):
            environment.pop(name, None)
    return subprocess.run([sys.executable, "-m", "emulator", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=timeout)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- new function


def test_new_function_invokes_with_its_local_event(tmp_path, docker_engine):
    made = cloudmicro("new", "function", "greet", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert set(snapshot(tmp_path)) == {"functions/greet/greet.py", "functions/greet/function.json",
                                       "local_events/greet.json"}
    assert "try it: cloudmicro invoke greet" in made.stderr

    function = FunctionRegistry(tmp_path / "functions", tmp_path / "state", "us-east-1",
                                "123456789012").load_folder(tmp_path / "functions" / "greet")
    assert function is not None and function.handler == "greet.greet_handler"  # the zero-config convention

    done = cloudmicro("invoke", "greet", "--executor", "docker", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"message": "Hello Cloudmicro!"}
    assert 'event: {"name": "Cloudmicro"}' in done.stderr


def test_every_event_source_template_runs_with_its_sample(tmp_path, make_server):
    """A function made for each source, invoked with its generated local event, returns what its
    handler makes of that event (names with hyphens get a Handler in function.json)."""
    runner = CliRunner()
    names = {source: f"on-{source}" for source in SOURCES}
    for source, name in names.items():
        made = runner.invoke(main, ["new", "function", name, "--event", source],
                             env={"CLOUDMICRO_PROJECT_DIR": str(tmp_path), "CLOUDMICRO_FUNCTIONS_DIR": None})
        assert made.exit_code == 0, made.output
    endpoint = make_server(tmp_path / "functions", "process")
    client = lambda_client(endpoint)

    def invoke(source: str) -> dict:
        event = (tmp_path / "local_events" / f"{names[source]}.json").read_bytes()
        reply = client.invoke(FunctionName=names[source], Payload=event)
        assert "FunctionError" not in reply, reply["Payload"].read()
        return json.loads(reply["Payload"].read())

    assert invoke("sqs") == {"batchItemFailures": []}
    assert invoke("s3") == {"objects": [{"event": "ObjectCreated:Put", "bucket": "my-bucket",
                                         "key": "incoming/photo.jpg"}]}
    assert invoke("s3-delete")["objects"][0]["event"] == "ObjectRemoved:Delete"
    assert invoke("sns") == {"messages": ["Hello from SNS!"]}
    assert invoke("dynamodb") == {"changes": [{"event": "INSERT", "keys": {"id": {"S": "1"}}}]}
    scheduled = invoke("schedule")
    assert (scheduled["detail-type"], scheduled["source"]) == ("Scheduled Event", "aws.events")
    assert invoke("eventbridge")["detail-type"] == "Order Placed"
    for source in ("apigateway", "apigateway-v2"):
        response = invoke(source)
        assert response["statusCode"] == 200
        assert json.loads(response["body"]) == {"message": "Hello world!", "method": "GET", "path": "/hello"}


def test_new_function_works_in_the_project_dir(tmp_path):
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    elsewhere.mkdir()
    made = cloudmicro("new", "function", "my-fn", cwd=elsewhere, env={"CLOUDMICRO_PROJECT_DIR": str(project)})
    assert made.returncode == 0, made.stderr
    assert set(snapshot(project)) == {"functions/my-fn/my_fn.py", "functions/my-fn/function.json",
                                      "local_events/my-fn.json"}
    assert not any(elsewhere.iterdir())
    assert json.loads((project / "functions/my-fn/function.json").read_text())["Handler"] == "my_fn.my_fn_handler"
    assert f"--event {project / 'local_events' / 'my-fn.json'}" in made.stderr
    listed = cloudmicro("list", cwd=project)
    assert any(line.split()[:3] == ["my-fn", "python3.11", "my_fn.my_fn_handler"] for line in listed.stdout.splitlines())


def test_new_function_refuses_to_overwrite(tmp_path):
    assert cloudmicro("new", "function", "greet", cwd=tmp_path).returncode == 0
    (tmp_path / "functions" / "greet" / "greet.py").write_text("# mine\n")
    before = snapshot(tmp_path)
    again = cloudmicro("new", "function", "greet", "--event", "sqs", cwd=tmp_path)
    assert again.returncode == 1
    assert "Error: function greet already exists: functions/greet" in again.stderr
    assert snapshot(tmp_path) == before

    # an event file of the same name is refused too, and nothing at all is written
    (tmp_path / "local_events" / "other.json").write_text('{"mine": true}')
    refused = cloudmicro("new", "function", "other", cwd=tmp_path)
    assert refused.returncode == 1
    assert "local_events/other.json already exists; not overwriting it" in refused.stderr
    assert not (tmp_path / "functions" / "other").exists()
    assert (tmp_path / "local_events" / "other.json").read_text() == '{"mine": true}'


@pytest.mark.parametrize(("name", "message"), [
    ("bad name", "is not valid: AWS allows 1 to 64 letters, digits, hyphens and underscores"),
    ("a.b", "is not valid"),
    ("x" * 65, "is 65 characters long; AWS allows at most 64"),
    ("_private", "Cloudmicro skips function folders whose name starts with '_'"),
])
def test_new_function_validates_the_name_as_aws_does(tmp_path, name, message):
    done = cloudmicro("new", "function", name, cwd=tmp_path)
    assert done.returncode == 1 and message in done.stderr
    assert not any(tmp_path.iterdir())


def test_names_that_cannot_be_modules_get_a_safe_handler():
    assert handler_name("hello").handler == "hello.hello_handler" and handler_name("hello").conventional
    assert handler_name("x" * 64).conventional
    assert handler_name("my-fn").handler == "my_fn.my_fn_handler"
    assert handler_name("2fast").handler == "fn_2fast.fn_2fast_handler"
    assert handler_name("json").handler == "json_function.json_handler"  # would shadow the standard library
    assert handler_name("boto3").handler == "boto3_function.boto3_handler"


def test_the_requirement_names_where_cloudmicro_came_from():
    assert requirement_for("1.2.0", {}) == "cloudmicro==1.2.0"
    assert requirement_for("1.2.0", {"url": "https://github.com/o/cloudmicro",
                                     "vcs_info": {"vcs": "git", "commit_id": "abc123"}}) \
        == "cloudmicro @ git+https://github.com/o/cloudmicro@abc123"
    assert requirement_for("1.2.0", {"url": "https://example.com/cloudmicro-1.2.0-py3-none-any.whl",
                                     "archive_info": {}}) \
        == "cloudmicro @ https://example.com/cloudmicro-1.2.0-py3-none-any.whl"
    assert requirement_for("1.2.0", {"url": "file:///src/cloudmicro", "dir_info": {"editable": True}}) \
        == "cloudmicro==1.2.0"


# --------------------------------------------------------------------------- new project

PROJECT_FILES = {
    ".env", ".gitignore", "README.md", "docker-compose.yml", "docker/cloudmicro/Dockerfile",
    "docker/cloudmicro/requirements.txt", "requirements-dev.txt", "pyproject.toml",
    "functions/hello/hello.py", "functions/hello/function.json", "local_events/hello.json",
    "db_gen/tables/greetings.json", "db_gen/table_data/greetings.json", "tests/test_hello.py",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("scaffold") / "shop"
    made = cloudmicro("new", "project", str(directory), cwd=directory.parent)
    assert made.returncode == 0, made.stderr
    return directory


def test_new_project_creates_its_files(project):
    assert set(snapshot(project)) == PROJECT_FILES
    env_lines = (project / ".env").read_text().splitlines()
    assert f"CLOUDMICRO_SOURCE={ROOT}" in env_lines  # compose builds the image from this checkout
    assert any(line.lstrip("# ").startswith("CLOUDMICRO_BASE_IMAGE=") for line in env_lines)
    assert f"-e {ROOT}" in (project / "requirements-dev.txt").read_text().splitlines()
    assert f"cloudmicro=={metadata.version('cloudmicro')}" in \
        (project / "docker/cloudmicro/requirements.txt").read_text().splitlines()
    assert ".env" in (project / ".gitignore").read_text().splitlines()
    registry = FunctionRegistry(project / "functions", project / ".cloudmicro", "us-east-1", "123456789012")
    registry.load_folders()
    assert [f.name for f in registry.list()] == ["hello"] and not registry.load_errors
    assert registry.get("hello").environment == {"GREETINGS_TABLE": "greetings"}


def test_new_project_compose_file_has_the_stack(project):
    compose = yaml.safe_load((project / "docker-compose.yml").read_text())
    assert set(compose["services"]) == {"moto", "cloudmicro", "init", "lambda-python"}
    assert compose["services"]["cloudmicro"]["command"] == ["cloudmicro", "serve", "--host", "0.0.0.0", "--port", "4566"]
    assert compose["services"]["cloudmicro"]["ports"] == ["127.0.0.1:${CLOUDMICRO_PORT:-4566}:4566"]
    assert compose["services"]["init"]["command"] == ["cloudmicro", "seed"]
    assert "/var/run/docker.sock:/var/run/docker.sock" in compose["services"]["cloudmicro"]["volumes"]
    resolved = subprocess.run(["docker-compose", "config"], cwd=project, capture_output=True, text=True,
                              env={**os.environ, "PWD": str(project)}, timeout=60)
    assert resolved.returncode == 0, resolved.stderr
    services = yaml.safe_load(resolved.stdout)["services"]
    assert {s["build"]["context"] for s in services.values()} == {str(ROOT)}  # from .env's CLOUDMICRO_SOURCE
    assert all("image" not in s for s in services.values())  # compose names them after the project


def test_new_project_function_invokes(project):
    done = cloudmicro("invoke", "hello", "--executor", "process", cwd=project)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"message": "Ciao Ada!"}  # read from the db_gen-seeded table


@pytest.mark.parametrize("executor", ["docker", "process"])
def test_new_projects_own_tests_pass_with_the_plugin(project, executor, docker_engine):
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           f"--cloudmicro-executor={executor}"], cwd=project, capture_output=True, text=True,
                          timeout=300, env={k: v for k, v in os.environ.items() if not k.startswith("CLOUDMICRO_")})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout


def test_new_project_runs_under_docker_compose(project, docker_engine):
    name = f"cmscaffold{os.getpid()}"
    port = free_port()
    env = {**os.environ, "PWD": str(project), "CLOUDMICRO_PORT": str(port), "CLOUDMICRO_BASE_IMAGE": base_image(docker_engine)}

    def compose(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run(["docker-compose", "-p", name, *args], cwd=project, env=env,
                              capture_output=True, text=True, timeout=timeout)

    up = compose("up", "-d", "--build")
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        deadline = time.monotonic() + 120  # the one-shot init service seeds db_gen, then exits 0
        while True:
            init_id = compose("ps", "-q", "init").stdout.strip()
            state = docker_engine.containers.get(init_id).attrs["State"] if init_id else {}
            if state.get("Status") == "exited":
                break
            assert time.monotonic() < deadline, compose("logs", "init").stdout
            time.sleep(0.5)
        assert state["ExitCode"] == 0, compose("logs", "init").stdout

        # the project's own tests, against the stack
        tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project,
                               capture_output=True, text=True, timeout=300,
                               env={**{k: v for k, v in os.environ.items() if k != "CLOUDMICRO_ADMIN_TOKEN"},
                                    "CLOUDMICRO_TEST_ENDPOINT": f"http://127.0.0.1:{port}"})
        assert tests.returncode == 0, tests.stdout + tests.stderr
        assert "5 passed" in tests.stdout
        run = compose("run", "--rm", "-e", "FUNCTION_NAME=hello", "lambda-python", timeout=300)
        assert run.returncode == 0, run.stderr
        assert '{"message": "Ciao Ada!"}' in run.stdout
    finally:
        down = compose("down", "--remove-orphans", timeout=300)
        untag_images(docker_engine, name)
        assert down.returncode == 0, down.stderr


def test_new_project_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    done = cloudmicro("new", "project", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 1 and "is not empty; a new project needs an empty or new folder" in done.stderr
    assert snapshot(tmp_path) == {"keep.txt": b"mine"}
    bad = cloudmicro("new", "project", "sub", "--function", "no way", cwd=tmp_path)
    assert bad.returncode == 1 and "function name 'no way' is not valid" in bad.stderr
    assert not (tmp_path / "sub").exists()
    (tmp_path / "file").write_text("")
    not_a_folder = cloudmicro("new", "project", "file", cwd=tmp_path)
    assert not_a_folder.returncode != 0 and not_a_folder.stderr


# --------------------------------------------------------------------------- events generate


@pytest.mark.parametrize("source", SOURCES)
def test_events_generate_prints_valid_json(tmp_path, source):
    done = cloudmicro("events", "generate", source, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    event = json.loads(done.stdout)
    assert event and done.stdout.startswith("{\n  ")  # pretty-printed


def test_events_generate_options_and_errors(tmp_path):
    done = cloudmicro("events", "generate", "s3", "--bucket", "photos", "--key", "a b.jpg", cwd=tmp_path,
                      env={"CLOUDMICRO_REGION": "eu-central-1"})
    record = json.loads(done.stdout)["Records"][0]
    assert (record["s3"]["bucket"]["name"], record["s3"]["object"]["key"], record["awsRegion"]) \
        == ("photos", "a+b.jpg", "eu-central-1")
    wrong = cloudmicro("events", "generate", "sqs", "--topic", "t", cwd=tmp_path)
    assert wrong.returncode == 2 and "--topic does not apply to sqs (it applies to sns)" in wrong.stderr
    bad = cloudmicro("events", "generate", "eventbridge", "--detail", "{nope", cwd=tmp_path)
    assert bad.returncode == 2 and "Invalid value for '--detail': not valid JSON" in bad.stderr
    unknown = cloudmicro("events", "generate", "kafka", cwd=tmp_path)
    assert unknown.returncode == 2 and "'kafka' is not one of" in unknown.stderr
