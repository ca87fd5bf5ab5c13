"""The shipped examples (functions/, local_events/, db_gen/) run end to end, seeded at start."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import boto3
import pytest

from emulator.app.server import BackgroundServer, free_port
from emulator.config import Settings
from tests.conftest import ROOT, lambda_client

EVENTS = ROOT / "local_events"


def aws(endpoint: str, service: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def health(endpoint: str) -> dict:
    return json.loads(urllib.request.urlopen(endpoint + "/_cloudmicro/health").read())


def wait_for_seed(endpoint: str) -> dict:
    deadline = time.monotonic() + 60
    while (state := health(endpoint)["seed"])["status"] in ("idle", "seeding"):
        assert time.monotonic() < deadline, state
        time.sleep(0.05)
    return state


@pytest.fixture(scope="module")
def project_endpoint(docker_engine, tmp_path_factory):
    settings = replace(Settings.from_env(), port=0, executor="docker", project_dir=ROOT,
                       functions_dir=ROOT / "functions", db_gen_dir=ROOT / "db_gen",
                       state_dir=tmp_path_factory.mktemp("examples"), seed_on_start=True)
    with BackgroundServer(settings) as endpoint:
        yield endpoint


def invoke_example(endpoint: str, name: str) -> dict:
    response = lambda_client(endpoint).invoke(FunctionName=name, Payload=(EVENTS / f"{name}.json").read_bytes())
    body = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, body
    return body


def test_words_are_seeded_when_the_emulator_starts(project_endpoint):
    state = wait_for_seed(project_endpoint)
    assert state["status"] == "done", state
    ddb = aws(project_endpoint, "dynamodb")
    table = ddb.describe_table(TableName="words")["Table"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["language_code-index"]
    italian = ddb.query(TableName="words", IndexName="language_code-index",
                        KeyConditionExpression="language_code = :l", ExpressionAttributeValues={":l": {"S": "it"}})
    assert italian["Count"] >= 3


def test_example_functions(project_endpoint):
    wait_for_seed(project_endpoint)
    assert invoke_example(project_endpoint, "hello") == {"message": "Hello Umberto Boccioni!"}
    words = invoke_example(project_endpoint, "getWords")
    expected = json.loads((ROOT / "db_gen" / "table_data" / "words.json").read_text())
    assert words["count"] == len(expected)
    assert sorted(w["word"] for w in words["items"]) == sorted(w["word"] for w in expected)
    stored = invoke_example(project_endpoint, "putObject")
    body = aws(project_endpoint, "s3").get_object(Bucket=stored["bucket"], Key=stored["key"])["Body"].read()
    assert body == json.loads((EVENTS / "putObject.json").read_text())["text"].encode()
    assert invoke_example(project_endpoint, "callHello") == {
        "hello_said": "Hello Filippo Marinetti!", "status": 200}


def test_cloudmicro_invoke_getwords_on_its_own(docker_engine):
    env = {**os.environ, "CLOUDMICRO_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
    done = subprocess.run([sys.executable, "-m", "emulator", "invoke", "getWords"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["count"] == len(json.loads((ROOT / "db_gen/table_data/words.json").read_text()))


def test_cloudmicro_seed_reports_a_bad_file_and_loads_the_rest(make_server, tmp_path):
    # moto embedded is one per process: use a table name no other test uses
    name = "words_" + os.urandom(3).hex()
    db_gen = tmp_path / "db_gen"
    (db_gen / "tables").mkdir(parents=True)
    (db_gen / "table_data").mkdir()
    definition = json.loads((ROOT / "db_gen/tables/words.json").read_text()) | {"TableName": name}
    (db_gen / "tables" / f"{name}.json").write_text(json.dumps(definition))
    shutil.copy(ROOT / "db_gen/table_data/words.json", db_gen / "table_data" / f"{name}.json")
    (db_gen / "tables" / "broken.json").write_text('{"TableName": "broken", "KeySchema": [')
    endpoint = make_server(ROOT / "functions", "process", seed_on_start=False)
    ddb = aws(endpoint, "dynamodb")
    ddb.create_table(
        TableName=name, KeySchema=[{"AttributeName": "word", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "word", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName=name, Item={"word": {"S": "stale"}})
    done = subprocess.run([sys.executable, "-m", "emulator", "seed", "--endpoint", endpoint,
                           "--db-gen-dir", str(db_gen)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "broken.json" in done.stderr and "line 1" in done.stderr
    words = ddb.scan(TableName=name)["Items"]
    assert "stale" not in [w["word"]["S"] for w in words]  # re-created from scratch
    assert len(words) == len(json.loads((ROOT / "db_gen/table_data/words.json").read_text()))


def _log_lines(endpoint: str, group: str) -> list[str]:
    logs = aws(endpoint, "logs")
    try:
        return [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
    except logs.exceptions.ResourceNotFoundException:
        return []


def test_the_destinations_example(project_endpoint):
    """processOrder runs asynchronously; EventBridge rules route its success and failure records
    to orderSucceeded and orderFailed, whose logs land in CloudWatch Logs."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run([str(ROOT / "scripts" / "destinations-example"), project_endpoint],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "rule processOrder-Success -> orderSucceeded" in done.stdout
    deadline = time.monotonic() + 60
    while True:
        succeeded = [json.loads(line) for line in _log_lines(project_endpoint, "/aws/lambda/orderSucceeded")
                     if line.startswith("{")]
        failed = [json.loads(line) for line in _log_lines(project_endpoint, "/aws/lambda/orderFailed")
                  if line.startswith("{")]
        if succeeded and failed:
            break
        assert time.monotonic() < deadline, (succeeded, failed)
        time.sleep(0.2)
    assert [(s["message"], s["orderId"], s["total"]) for s in succeeded] == [("order accepted", "order-1", 26.2)]
    assert [(f["message"], f["orderId"], f["condition"], f["attempts"]) for f in failed] == [
        ("order failed", "order-2", "RetriesExhausted", 1)]
    assert failed[0]["error"] == "order order-2 has no items"


def test_order_failed_logs_a_record_without_a_response(project_endpoint):
    """An event that expired in processOrder's queue before it ran (EventAgeExceeded) has no
    responsePayload: orderFailed logs it (error null) instead of failing."""
    record = {
        "version": "1.0", "timestamp": "2024-05-06T10:00:30.123Z",
        "requestContext": {"requestId": "e4b46cbf-b738-4c4e-8880-a18cdf61200e",
                           "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:processOrder:$LATEST",
                           "condition": "EventAgeExceeded", "approximateInvokeCount": 0},
        "requestPayload": {"orderId": "order-3", "items": []},
    }
    event = {"version": "0", "id": "c1f8f0a0-6d6f-4a5b-8a9e-0d1f2e3a4b5c", "source": "lambda",
             "detail-type": "Lambda Function Invocation Result - Failure", "account": "123456789012",
             "time": "2024-05-06T10:00:30Z", "region": "us-east-1", "resources": [], "detail": record}
    response = lambda_client(project_endpoint).invoke(FunctionName="orderFailed", Payload=json.dumps(event),
                                                      LogType="Tail")
    body = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, body
    assert body == "e4b46cbf-b738-4c4e-8880-a18cdf61200e"
    logged = [json.loads(line) for line in base64.b64decode(response["LogResult"]).decode().splitlines()
              if line.startswith("{")]
    assert logged == [{"level": "ERROR", "message": "order failed", "orderId": "order-3",
                       "condition": "EventAgeExceeded", "attempts": 0, "error": None}]
