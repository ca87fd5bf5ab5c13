"""A real CDK app, The Destined Lambda (``tests/cdk/destined_lambda/``, JavaScript), synthesized
with ``cdk synth`` and run by ``cloudmicro dev --template cdk.out`` in a subprocess, end to end:

GET / on its REST API (an ``AWS`` integration whose VTL template publishes ``please <mode>`` to
SNS) -> the destined function subscribed to the topic -> its Destinations (OnSuccess, OnFailure)
put the record on an EventBridge bus -> rules in a nested stack, on
``detail.requestContext.condition`` and ``detail.responsePayload`` (``source``/``action`` for
success, ``errorType`` for failure), route it to one of two logging functions, whose CloudWatch
Logs group (``/aws/lambda/<name>``, read with the Logs API) must show the record. The functions
run from ``cdk.out/asset.<hash>`` folders: saving a file there changes the next request's result.

The CDK toolchain (``tests/cdk/package.json``: aws-cdk, aws-cdk-lib, constructs, pinned) is
installed with npm into ``.cloudmicro/npm-cdk`` once and reused; synthesis is offline (no AWS
account: ``CDK_DEFAULT_ACCOUNT``/``CDK_DEFAULT_REGION``, no version reporting, no lookups). No
Node.js, or no npm registry, fails the test with the reason: it never skips.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from emulator.app.server import free_port
from emulator.testing.pytest_plugin import client
from tests.conftest import ROOT
from tests.integration.probes import until
from tests.integration.test_dev_command import Dev

CDK = ROOT / "tests" / "cdk"
APP = CDK / "destined_lambda"
CACHE = ROOT / ".cloudmicro" / "npm-cdk"
STACK = "TheDestinedLambdaStack"


def cdk_toolchain() -> Path:
    """The cached install of tests/cdk/package.json (npm install when the pins changed); its
    node_modules. pytest.fail when Node.js or npm is missing or the registry cannot be reached."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: the CDK app tests need Node.js 18+ and npm (scripts/setup)")
    package = (CDK / "package.json").read_bytes()
    stamp = CACHE / ".installed"
    wanted = hashlib.sha256(package).hexdigest()
    modules = CACHE / "node_modules"
    if stamp.is_file() and stamp.read_text() == wanted and (modules / ".bin" / "cdk").exists():
        return modules
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "package.json").write_bytes(package)
    started = time.monotonic()
    try:
        done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error"],
                              cwd=CACHE, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        pytest.fail("npm install of the CDK toolchain took more than 10 minutes: is the npm registry reachable?")
    if done.returncode != 0:
        pytest.fail(f"npm could not install the CDK toolchain ({CDK / 'package.json'}) into {CACHE}: "
                    f"is the npm registry ({_registry()}) reachable? npm said:\n{done.stderr[-3000:]}")
    stamp.write_text(wanted)
    print(f"\ncdk: toolchain installed in {time.monotonic() - started:.1f} s ({CACHE})")
    return modules


def _registry() -> str:
    found = subprocess.run(["npm", "config", "get", "registry"], capture_output=True, text=True, timeout=60)
    return found.stdout.strip() or "https://registry.npmjs.org/"


def synth(app: Path, modules: Path) -> Path:
    """``cdk synth`` of ``app`` (offline); its cdk.out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDK_", "AWS_"))}
    env.update(NODE_PATH=str(modules), CDK_DEFAULT_ACCOUNT="123456789012", CDK_DEFAULT_REGION="us-east-1",
               CDK_DISABLE_VERSION_CHECK="1", CDK_DISABLE_CLI_TELEMETRY="true", CI="true")
    out = app / "cdk.out"
    started = time.monotonic()
    done = subprocess.run([str(modules / ".bin" / "cdk"), "synth", "--quiet", "--no-notices", "--no-version-reporting",
                           "--no-lookups", "--output", str(out)], cwd=app, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"cdk synth failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    print(f"\ncdk: synth in {time.monotonic() - started:.1f} s")
    return out


@dataclass
class Deployed:
    dev: Dev
    cdk_out: Path
    outputs: dict[str, str]
    deploy_seconds: float

    def url(self, query: str = "") -> str:
        return f"{self.dev.endpoint}/_aws/execute-api/{self.outputs['ApiId']}/prod/{query}"


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, docker_engine: Any) -> Iterator[Deployed]:
    modules = cdk_toolchain()
    app = tmp_path_factory.mktemp("destined", numbered=False) / "app"
    shutil.copytree(APP, app)
    cdk_out = synth(app, modules)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDMICRO_")}
    env.update(CLOUDMICRO_STATE_DIR=str(app.parent / "state"), CLOUDMICRO_SEED_ON_START="false",
               PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "dev", "--port", str(port), "--executor", "docker", "--template", "cdk.out"],
        cwd=app, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    dev = Dev(proc, f"http://127.0.0.1:{port}")
    try:
        dev.expect(f"as stack {STACK}")
        created = dev.expect(f"cloudmicro: stack {STACK}:", timeout=120)
        assert "CREATE_COMPLETE" in created, f"{created}\n" + "\n".join(dev.lines[-20:])
        seconds = time.monotonic() - started
        dev.expect(f"cloudmicro: outputs of {STACK}:")
        outputs: dict[str, str] = {}
        while len(outputs) < 5:
            key, _, value = dev.expect(" = ").strip().partition(" = ")
            outputs[key] = value.split("  (here:")[0]
        print(f"\ncdk: {created.split(': ', 1)[1]} (deployed {seconds:.1f} s after cloudmicro dev started)")
        yield Deployed(dev, cdk_out, outputs, seconds)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def logged(deployed: Deployed, function: str, needle: str, timeout: float = 60) -> dict[str, Any]:
    """The detail a logging function printed (the record holding ``needle``), read from its
    CloudWatch Logs group; polled until it is there."""
    logs = client(deployed.dev.endpoint, "logs")
    group = f"/aws/lambda/{function}"

    def found() -> dict[str, Any] | None:
        try:
            events = logs.filter_log_events(logGroupName=group)["events"]
        except logs.exceptions.ResourceNotFoundException:
            return None
        for event in events:
            text = event["message"]
            if needle in text and " record: " in text:
                return dict(json.loads(text.split(" record: ", 1)[1]))
        return None

    return until(found, timeout, f"a record with {needle!r} in {group}", interval=0.2)


def test_the_stack_is_deployed_from_cdk_out(deployed: Deployed) -> None:
    out = deployed.outputs
    assert out["theDestinedLambdaAPIEndpointA1D03662"] == \
        f"https://{out['ApiId']}.execute-api.us-east-1.amazonaws.com/prod/"
    lam = client(deployed.dev.endpoint, "lambda")
    for key in ("DestinedFunction", "SuccessFunction", "FailureFunction"):
        assert lam.get_function(FunctionName=out[key])["Configuration"]["Runtime"] == "python3.11"
    cfn = client(deployed.dev.endpoint, "cloudformation")
    [nested] = [s for s in cfn.list_stacks(StackStatusFilter=["CREATE_COMPLETE"])["StackSummaries"]
                if s["StackName"].startswith(f"{STACK}-LoggersNestedStack")]
    names = {r["LogicalResourceId"] for r in cfn.list_stack_resources(StackName=nested["StackName"])
             ["StackResourceSummaries"]}
    assert {"SuccessLambda1BC1D4C0", "SuccessRuleD2A5ADBC", "FailureLambda9A342A17", "FailureRule1FC166E8"} <= names


def test_a_request_ends_in_the_success_loggers_log(deployed: Deployed) -> None:
    reply = requests.get(deployed.url("?mode=succeed"), timeout=60)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"message": "Message added to SNS topic"}
    detail = logged(deployed, deployed.outputs["SuccessFunction"], "please succeed")
    assert detail["requestContext"]["condition"] == "Success"
    assert detail["requestContext"]["functionArn"].split(":")[6] == deployed.outputs["DestinedFunction"]
    assert detail["responsePayload"] == {"source": "cdkpatterns.the-destined-lambda", "action": "message",
                                         "message": "hello world"}
    assert detail["requestPayload"]["Records"][0]["Sns"]["Message"] == "please succeed"


def test_mode_fail_ends_in_the_failure_loggers_log(deployed: Deployed) -> None:
    reply = requests.get(deployed.url("?mode=fail"), timeout=60)
    assert reply.status_code == 200, reply.text
    detail = logged(deployed, deployed.outputs["FailureFunction"], "please fail")
    assert detail["requestContext"]["condition"] == "RetriesExhausted"
    assert detail["responsePayload"]["errorType"] == "DestinedError"
    assert detail["responsePayload"]["errorMessage"] == "[Error] you asked me to fail"
    # and not in the success logger's
    events = client(deployed.dev.endpoint, "logs").filter_log_events(
        logGroupName=f"/aws/lambda/{deployed.outputs['SuccessFunction']}")["events"]
    assert not [e for e in events if "please fail" in e["message"]]


def test_saving_the_subscribers_asset_file_changes_the_next_request(deployed: Deployed) -> None:
    source = _asset_folder(deployed, "destinedLambda") / "index.py"
    source.write_text(source.read_text().replace('MESSAGE = "hello world"', 'MESSAGE = "hello again"'))
    reply = requests.get(deployed.url("?mode=reloaded"), timeout=60)
    assert reply.status_code == 200, reply.text
    detail = logged(deployed, deployed.outputs["SuccessFunction"], "please reloaded")
    assert detail["responsePayload"]["message"] == "hello again"


def _asset_folder(deployed: Deployed, logical_prefix: str) -> Path:
    """The cdk.out asset folder a resource of the top stack runs from (its aws:asset:path)."""
    template = json.loads((deployed.cdk_out / f"{STACK}.template.json").read_text())
    [path] = [r["Metadata"]["aws:asset:path"] for logical, r in template["Resources"].items()
              if logical.startswith(logical_prefix) and r["Type"] == "AWS::Lambda::Function"]
    return deployed.cdk_out / path
