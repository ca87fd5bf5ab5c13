"""The Cloudmicro pytest plugin: a local AWS for a project's integration tests.

Installed with the package (entry point ``pytest11``), so a project's tests need no setup:

    def test_hello(cloudmicro_invoke):
        assert cloudmicro_invoke("hello", {"first_name": "A", "last_name": "B"})["message"] == "Hello A B!"

    def test_table(cloudmicro_client):
        assert "words" in cloudmicro_client("dynamodb").list_tables()["TableNames"]

Fixtures
--------
``cloudmicro_endpoint``  (session) the endpoint URL of a control plane started for the session
    on an ephemeral loopback port, serving the project's ``functions/`` and seeded from its
    ``db_gen/``; torn down at the end. Set ``CLOUDMICRO_TEST_ENDPOINT`` to use one that is
    already running instead (e.g. the compose stack).
``cloudmicro_client``  a factory: ``cloudmicro_client("s3")`` is a boto3 client bound to it.
``cloudmicro_invoke``  ``cloudmicro_invoke(name, event)``: a RequestResponse invoke; returns
    the function's result, or raises :class:`FunctionError` when the function failed.
``cloudmicro_server``  (session) a factory starting more control planes for the session:
    ``cloudmicro_server(functions_dir=..., executor="process")`` returns an endpoint.
``cloudmicro_test_server``  the same for one test: returns a :class:`LocalCloud` (``.endpoint``,
    ``.stop()``, ``.start()``), stopped when the test ends. ``echo=True`` also copies its log
    to the test's standard error as it comes (for ``capfd``).

Each control plane runs in a child process (``python -m emulator serve``, see
:mod:`emulator.testing.local_cloud`) with its own moto, so ``@mock_aws`` unit tests in the same
session cannot disturb it; its log (every invocation's START/END/REPORT and output) is written
to ``cloudmicro-<port>.log`` in the session's temporary folder. A failing test's report
shows what the control planes logged while it ran ("Captured cloudmicro log"), a failing
``cloudmicro_invoke`` names the log file, and ``pytest -s`` shows the log live.
Installed requirements.txt packages are cached in the project's ``.cloudmicro/deps`` (as for
``cloudmicro dev``), so they are installed once, not once per session.

Options: ``--cloudmicro-project DIR`` (default: pytest's rootdir, or the folder pytest runs
in, whichever has ``functions/``) and
``--cloudmicro-executor auto|docker|process`` (default: ``CLOUDMICRO_EXECUTOR`` or auto).
``--cloudmicro-template FILE`` (ini ``cloudmicro_template``, relative to the rootdir) deploys a
CloudFormation/SAM template to the session's control plane before the first test that uses it,
as ``cloudmicro dev --template`` does (local code paths run from their folders, no build step);
``--cloudmicro-stack-name`` (ini ``cloudmicro_stack_name``; default: the template folder's name)
and ``--cloudmicro-parameter KEY=VALUE`` (again for more; ini ``cloudmicro_parameters``,
``Key=Value`` items) go with it. The fixture ``cloudmicro_stack_outputs`` is the stack's
outputs; a template that does not deploy fails the tests that use it, with the reasons. Other
settings come from the ``CLOUDMICRO_*`` environment variables as for ``cloudmicro serve``.
Nothing is imported from the emulator until a fixture is used.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from emulator.config import Settings
    from emulator.testing.local_cloud import LocalCloud

TEST_ENDPOINT_VARIABLE = "CLOUDMICRO_TEST_ENDPOINT"
_LOGS = pytest.StashKey[Path]()
_CLOUDS = pytest.StashKey["_Clouds"]()
_OFFSETS = pytest.StashKey[dict[Path, int]]()


class FunctionError(AssertionError):
    """The invoked function failed; ``error`` is its error payload (errorType, errorMessage...)."""

    def __init__(self, function: str, error: Any, log: Path | None = None) -> None:
        where = f" (the control plane's log: {log})" if log is not None else ""
        super().__init__(f"{function} failed: {json.dumps(error)}{where}")
        self.function = function
        self.error = error


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cloudmicro", "Cloudmicro: a local AWS for integration tests")
    group.addoption("--cloudmicro-project", default=None,
                    help="the project folder (functions/, db_gen/); default: the rootdir")
    group.addoption("--cloudmicro-executor", default=None, choices=("auto", "docker", "process"),
                    help="how functions run (default: CLOUDMICRO_EXECUTOR or auto)")
    group.addoption("--cloudmicro-template", default=None,
                    help="a CloudFormation/SAM template to deploy to the session's control plane")
    group.addoption("--cloudmicro-stack-name", default=None,
                    help="the template's stack name (default: the template folder's name)")
    group.addoption("--cloudmicro-parameter", action="append", default=[], metavar="KEY=VALUE",
                    help="a template parameter (again for more)")
    parser.addini("cloudmicro_template", "a CloudFormation/SAM template to deploy (relative to the rootdir)")
    parser.addini("cloudmicro_stack_name", "the template's stack name")
    parser.addini("cloudmicro_parameters", "template parameters, Key=Value items", type="args")


def _template(config: pytest.Config) -> Path | None:
    """--cloudmicro-template, else the ini's cloudmicro_template (relative to the rootdir)."""
    chosen = config.getoption("cloudmicro_template")
    if chosen:
        return Path(chosen).resolve()
    ini = config.getini("cloudmicro_template")
    return (config.rootpath / str(ini)).resolve() if ini else None


def _project_dir(config: pytest.Config) -> Path:
    """--cloudmicro-project, else the first of rootdir and the invocation folder holding functions/."""
    chosen = config.getoption("cloudmicro_project")
    if chosen:
        return Path(chosen).resolve()
    for candidate in (config.rootpath, config.invocation_params.dir):
        if (candidate / "functions").is_dir():
            return candidate.resolve()
    return config.rootpath.resolve()


def client(endpoint: str, service: str, **config: Any) -> Any:
    """A boto3 client for ``service`` bound to a control plane (dummy credentials, its region).

    ``config`` goes to botocore's ``Config`` (e.g. ``read_timeout=900``)."""
    import boto3
    from botocore.config import Config

    options: dict[str, Any] = {"retries": {"max_attempts": 2, "mode": "standard"}, "read_timeout": 900,
                               "max_pool_connections": 32}
    options.update(config)
    return boto3.client(
        service, endpoint_url=endpoint, region_name=os.environ.get("CLOUDMICRO_REGION", "us-east-1"),
        aws_access_key_id="test", aws_secret_access_key="test", config=Config(**options),
    )


def admin_request(url: str, method: str = "GET", data: bytes | None = None) -> Any:
    """A ``urllib`` request to a control plane's admin route (``/_cloudmicro/...``), carrying the
    session's admin token (``CLOUDMICRO_ADMIN_TOKEN``, which the plugin sets)."""
    import urllib.request

    from emulator.domain.admin_token import HEADER

    headers = {HEADER: os.environ.get("CLOUDMICRO_ADMIN_TOKEN", "")}
    if data is not None:
        headers["Content-Type"] = "application/json"  # urllib's default (a form) is refused
    return urllib.request.Request(url, data=data, method=method, headers=headers)


class _Clouds:
    """Starts control planes as child processes with the session's settings, and stops them."""

    def __init__(self, config: pytest.Config, tmp: pytest.TempPathFactory) -> None:
        self.project = _project_dir(config)
        self.executor = config.getoption("cloudmicro_executor")
        self.template = _template(config)
        self.stack_name = config.getoption("cloudmicro_stack_name") or config.getini("cloudmicro_stack_name") or None
        self.parameters = [*config.getini("cloudmicro_parameters"), *config.getoption("cloudmicro_parameter")]
        self.tmp = tmp
        self.logs = tmp.mktemp("cloudmicro-logs", numbered=False)
        self.echo = config.getoption("capture") == "no"  # pytest -s: the log live on the terminal
        config.stash[_LOGS] = self.logs
        config.stash[_CLOUDS] = self
        self.started: list[LocalCloud] = []
        # one admin token for the session's control planes (children read it from the environment),
        # so the tests' clients (PlaneClient, or the X-Cloudmicro-Admin-Token header) can use it;
        # a control plane already running (CLOUDMICRO_TEST_ENDPOINT, e.g. the compose stack's)
        # wrote its own to the project's state folder
        if "CLOUDMICRO_ADMIN_TOKEN" not in os.environ:
            from emulator.domain.admin_token import read_token

            running = read_token(Path(os.environ.get("CLOUDMICRO_STATE_DIR", self.project / ".cloudmicro"))) \
                if os.environ.get(TEST_ENDPOINT_VARIABLE) else None
            os.environ["CLOUDMICRO_ADMIN_TOKEN"] = running or secrets.token_urlsafe(32)

    def settings(self, **overrides: Any) -> Settings:
        from emulator.config import Settings

        settings = Settings.from_env(executor=self.executor)
        settings = replace(settings, port=0, project_dir=self.project, functions_dir=self.project / "functions",
                           db_gen_dir=self.project / "db_gen", state_dir=self.tmp.mktemp("cloudmicro"),
                           deps_dir=settings.deps_dir or self.project / ".cloudmicro" / "deps")
        if self.template is not None:  # its code folders (hot-reload) are the project's
            folder = self.template if self.template.is_dir() else self.template.parent  # a cdk.out, or not
            settings = replace(settings, code_roots=(*settings.code_roots, folder))
        return replace(settings, **overrides)

    def deploy_template(self, endpoint: str) -> dict[str, str]:
        """Deploy the session's template to ``endpoint``; its outputs. pytest.fail with the reasons
        when it cannot be read or deployed."""
        from emulator.templates.loading import TemplateError
        from emulator.templates.prepare import default_stack_name, prepare, template_file
        from emulator.templates.stacks import StackDeployer, parse_overrides

        assert self.template is not None
        try:
            path = template_file(self.template)
            ready = prepare(path.read_text(), path)
            deployer = StackDeployer(client(endpoint, "cloudformation", retries={"max_attempts": 1}),
                                     self.stack_name or default_stack_name(path), s3=lambda: client(endpoint, "s3"))
            done = deployer.deploy(ready.template, parse_overrides(self.parameters), ready.uploads)
        except (TemplateError, OSError, ValueError) as exc:
            pytest.fail(f"cloudmicro: the template is not deployed: {exc}", pytrace=False)
        if not done.ok:
            reasons = "; ".join(f"{logical}: {reason}" for logical, reason in done.failures)
            pytest.fail(f"cloudmicro: stack {done.stack}: {done.action} failed ({done.status}): "
                        f"{done.reason}{'; ' + reasons if reasons else ''}", pytrace=False)
        return done.outputs

    def start(self, echo: bool | None = None, **overrides: Any) -> LocalCloud:
        from emulator.testing.local_cloud import LocalCloud

        settings = self.settings(**overrides)
        cloud = LocalCloud(settings, self.logs, echo=self.echo if echo is None else echo)
        self.started.append(cloud)
        cloud.start()
        if settings.seed_on_start:
            cloud.wait_for_seeding()
        return cloud

    def log_of(self, endpoint: str) -> Path | None:
        return next((c.log_path for c in self.started if c.endpoint == endpoint), None)

    def stop_all(self) -> None:
        for cloud in self.started:
            cloud.stop()
        self.started.clear()


def pytest_report_header(config: pytest.Config) -> str | None:
    if os.environ.get(TEST_ENDPOINT_VARIABLE):
        return f"cloudmicro: using the control plane at {os.environ[TEST_ENDPOINT_VARIABLE]}"
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Remember where each control plane's log was when the test started (see makereport)."""
    clouds = item.config.stash.get(_CLOUDS, None)
    item.stash[_OFFSETS] = {c.log_path: c.log_size() for c in clouds.started} if clouds else {}
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """A failed test's report gets what the control planes logged while it ran."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    clouds = item.config.stash.get(_CLOUDS, None)
    if not report.failed or clouds is None:
        return
    offsets = item.stash.get(_OFFSETS, {})
    for cloud in clouds.started:
        text = cloud.log_since(offsets.get(cloud.log_path, 0))
        if text.strip():
            report.sections.append((f"Captured cloudmicro log ({cloud.endpoint})", text))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    logs = config.stash.get(_LOGS, None)
    if exitstatus != 0 and logs is not None and any(logs.glob("*.log")):
        terminalreporter.write_line(f"cloudmicro: the control planes' logs are in {logs}")


@pytest.fixture(scope="session")
def _cloudmicro_clouds(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                       ) -> Iterator[_Clouds]:
    clouds = _Clouds(request.config, tmp_path_factory)
    yield clouds
    clouds.stop_all()


@pytest.fixture(scope="session")
def cloudmicro_server(_cloudmicro_clouds: _Clouds) -> Callable[..., str]:
    def start(**overrides: Any) -> str:
        return _cloudmicro_clouds.start(**overrides).endpoint

    return start


@pytest.fixture
def cloudmicro_test_server(_cloudmicro_clouds: _Clouds) -> Iterator[Callable[..., LocalCloud]]:
    mine: list[LocalCloud] = []

    def start(**overrides: Any) -> LocalCloud:
        cloud = _cloudmicro_clouds.start(**overrides)
        mine.append(cloud)
        return cloud

    yield start
    for cloud in mine:
        cloud.stop()


_STACK_OUTPUTS = pytest.StashKey[dict[str, str]]()


@pytest.fixture(scope="session")
def cloudmicro_endpoint(cloudmicro_server: Callable[..., str], _cloudmicro_clouds: _Clouds,
                        request: pytest.FixtureRequest) -> str:
    external = os.environ.get(TEST_ENDPOINT_VARIABLE)
    endpoint = external.rstrip("/") if external else cloudmicro_server()
    if _cloudmicro_clouds.template is not None:
        request.config.stash[_STACK_OUTPUTS] = _cloudmicro_clouds.deploy_template(endpoint)
    return endpoint


@pytest.fixture(scope="session")
def cloudmicro_stack_outputs(cloudmicro_endpoint: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """The outputs of the stack deployed from ``--cloudmicro-template`` (OutputKey -> OutputValue)."""
    if _STACK_OUTPUTS not in request.config.stash:
        pytest.fail("cloudmicro_stack_outputs: no template is deployed (give --cloudmicro-template or the ini's "
                    "cloudmicro_template)", pytrace=False)
    outputs: dict[str, str] = request.config.stash[_STACK_OUTPUTS]
    return dict(outputs)


@pytest.fixture(scope="session")
def cloudmicro_client(cloudmicro_endpoint: str) -> Callable[[str], Any]:
    clients: dict[str, Any] = {}

    def make(service: str) -> Any:
        if service not in clients:
            clients[service] = client(cloudmicro_endpoint, service)
        return clients[service]

    return make


_NO_EVENT: Any = object()


@pytest.fixture(scope="session")
def cloudmicro_invoke(cloudmicro_endpoint: str, _cloudmicro_clouds: _Clouds) -> Callable[..., Any]:
    # never retried: a RequestResponse invoke that timed out on the client may still be running
    lam = client(cloudmicro_endpoint, "lambda", retries={"max_attempts": 1, "mode": "standard"})

    def invoke(function: str, event: Any = _NO_EVENT) -> Any:
        payload = json.dumps({} if event is _NO_EVENT else event)
        reply = lam.invoke(FunctionName=function, Payload=payload)
        body = reply["Payload"].read()
        result = json.loads(body) if body else None
        if reply.get("FunctionError"):
            raise FunctionError(function, result, _cloudmicro_clouds.log_of(cloudmicro_endpoint))
        return result

    return invoke
