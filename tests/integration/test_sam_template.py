"""A SAM template (``Transform: AWS::Serverless-2016-10-31``) deployed with the real
``aws cloudformation deploy``: AWS's translator expands it, and every event source it wires
reaches the function for real.

One function (a local folder: the hot-reload convention, ``AutoPublishAlias: live``) has an event
of each kind: Api, HttpApi (both through the front door), SQS, Kinesis, DynamoDB (streams), S3,
SNS, Schedule, ScheduleV2 (fired at once through ``/_cloudmicro/schedules/run``),
EventBridgeRule and CloudWatchLogs (a subscription filter on the stack's log group). Each
invocation records its kind and the ARN it was invoked by in the stack's
``SimpleTable``; the test fires each event and polls the table. Beside it: InlineCode, CodeUri
from the local S3, a state machine, GetTemplate's stages, and bad templates.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
import urllib.request
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from emulator.testing.pytest_plugin import admin_request, client

AWS = "/usr/bin/aws"

HANDLER = '''
import json, os
import boto3

table = boto3.resource("dynamodb").Table(os.environ["RECORDS"])


def kind(event):
    if isinstance(event, dict):
        if event.get("version") == "2.0" and "routeKey" in event:
            return "httpapi"
        if "httpMethod" in event:
            return "api"
        if "awslogs" in event:
            return "logs"
        if event.get("via"):
            return event["via"]
        if event.get("detail-type") == "Scheduled Event":
            return "schedule"
        if event.get("source") == "cm.test":
            return "rule"
        records = event.get("Records") or []
        if records:
            return (records[0].get("eventSource") or records[0].get("EventSource") or "?").replace("aws:", "")
    return "unknown"


def handler(event, context):
    found = kind(event)
    table.put_item(Item={"id": found, "arn": context.invoked_function_arn})
    if found in ("api", "httpapi"):
        return {"statusCode": 200, "body": json.dumps({"kind": found})}
    return {"kind": found}
'''

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  CodeFolder: {Type: String}
  CodeBucket: {Type: String}
Globals:
  Function:
    Runtime: python3.11
    Timeout: 10
    Environment: {Variables: {RECORDS: !Ref Records}}
Resources:
  Records: {Type: AWS::Serverless::SimpleTable}
  Uploads: {Type: AWS::S3::Bucket}
  Topic: {Type: AWS::SNS::Topic}
  Queue: {Type: AWS::SQS::Queue}
  Stream: {Type: AWS::Kinesis::Stream, Properties: {ShardCount: 1}}
  Source:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Http: {Type: AWS::Serverless::HttpApi}
  AppLogs: {Type: AWS::Logs::LogGroup}
  Recorder:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: !Ref CodeFolder
      Handler: app.handler
      AutoPublishAlias: live
      Events:
        Rest: {Type: Api, Properties: {Path: /hello, Method: get}}
        HttpGet: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: /hi, Method: GET}}
        Sqs: {Type: SQS, Properties: {Queue: !GetAtt Queue.Arn, BatchSize: 1}}
        Kinesis: {Type: Kinesis, Properties: {Stream: !GetAtt Stream.Arn, StartingPosition: TRIM_HORIZON, BatchSize: 1}}
        Ddb: {Type: DynamoDB, Properties: {Stream: !GetAtt Source.StreamArn, StartingPosition: TRIM_HORIZON, BatchSize: 1}}
        Upload: {Type: S3, Properties: {Bucket: !Ref Uploads, Events: "s3:ObjectCreated:*"}}
        Sns: {Type: SNS, Properties: {Topic: !Ref Topic}}
        Daily: {Type: Schedule, Properties: {Schedule: rate(1 day)}}
        DailyV2: {Type: ScheduleV2, Properties: {ScheduleExpression: rate(1 day), Input: '{"via": "schedulev2"}'}}
        Rule: {Type: EventBridgeRule, Properties: {Pattern: {source: [cm.test]}}}
        Logs: {Type: CloudWatchLogs, Properties: {LogGroupName: !Ref AppLogs, FilterPattern: ERROR}}
  Inline:
    Type: AWS::Serverless::Function
    Properties:
      Handler: index.handler
      InlineCode: |
        def handler(event, context):
            return {"inline": event}
  FromS3:
    Type: AWS::Serverless::Function
    Properties:
      Handler: s3app.handler
      CodeUri: {Bucket: !Ref CodeBucket, Key: code/s3app.zip}
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Call
        States:
          Call: {Type: Task, Resource: !GetAtt Inline.Arn, End: true}
Outputs:
  RecorderAlias: {Value: !Ref RecorderAliaslive}
  Inline: {Value: !Ref Inline}
  FromS3: {Value: !Ref FromS3}
  Machine: {Value: !Ref Machine}
"""


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sam")
    (root / "functions").mkdir()
    (root / "src" / "recorder").mkdir(parents=True)
    (root / "src" / "recorder" / "app.py").write_text(HANDLER)
    return root


@pytest.fixture(scope="module")
def endpoint(project: Path, cloudmicro_server: Any, docker_engine: Any) -> str:
    return str(cloudmicro_server(functions_dir=project / "functions", executor="docker", state_dir=project / "state",
                                 deps_dir=None, seed_on_start=False, idle_timeout=600))


def aws(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="")
    return subprocess.run([AWS, "--endpoint-url", endpoint, *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def deploy(endpoint: str, folder: Path, stack: str, template: str, **parameters: str) -> subprocess.CompletedProcess[str]:
    path = folder / f"{stack}.yaml"
    path.write_text(template)
    args = ["cloudformation", "deploy", "--stack-name", stack, "--template-file", str(path),
            "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
    if parameters:
        args += ["--parameter-overrides", *[f"{k}={v}" for k, v in parameters.items()]]
    return aws(endpoint, *args)


def failures(cfn: Any, stack: str) -> list[tuple[str, str]]:
    events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    return [(e["LogicalResourceId"], e.get("ResourceStatusReason", "")) for e in events
            if e["ResourceStatus"].endswith("FAILED")]


def physical_ids(cfn: Any, stack: str) -> dict[str, str]:
    resources = cfn.describe_stack_resources(StackName=stack)["StackResources"]
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}


def test_every_sam_event_reaches_the_function(endpoint: str, project: Path, tmp_path: Path) -> None:
    cfn, lam, s3 = client(endpoint, "cloudformation"), client(endpoint, "lambda"), client(endpoint, "s3")
    code_bucket = f"code-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=code_bucket)
    s3.put_object(Bucket=code_bucket, Key="code/s3app.zip",
                  Body=_zip({"s3app.py": "def handler(event, context):\n    return {'from': 's3'}\n"}))

    done = deploy(endpoint, tmp_path, "samapp", TEMPLATE, CodeFolder=str(project / "src" / "recorder"),
                  CodeBucket=code_bucket)
    assert done.returncode == 0, done.stderr + str(failures(cfn, "samapp"))
    stack = cfn.describe_stacks(StackName="samapp")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    out = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    ids = physical_ids(cfn, "samapp")
    recorder = ids["Recorder"]
    assert out["RecorderAlias"] == f"arn:aws:lambda:us-east-1:123456789012:function:{recorder}:live"
    alias = lam.get_alias(FunctionName=recorder, Name="live")
    assert alias["FunctionVersion"] == "1"
    assert lam.get_function(FunctionName=recorder)["Code"].get("RepositoryType") != "ECR"

    # InlineCode, CodeUri from the local S3, a state machine calling a function
    inline = lam.invoke(FunctionName=out["Inline"], Payload=b'{"a": 1}')
    assert json.loads(inline["Payload"].read()) == {"inline": {"a": 1}}
    from_s3 = lam.invoke(FunctionName=out["FromS3"], Payload=b"{}")
    assert json.loads(from_s3["Payload"].read()) == {"from": "s3"}
    sfn = client(endpoint, "stepfunctions")
    execution = sfn.start_execution(stateMachineArn=out["Machine"], input='{"b": 2}')["executionArn"]

    # fire every event
    base = f"{endpoint}/_aws/execute-api"
    rest = requests.get(f"{base}/{ids['ServerlessRestApi']}/Prod/hello", timeout=60)
    assert rest.status_code == 200 and rest.json() == {"kind": "api"}, rest.text
    http = requests.get(f"{base}/{ids['Http']}/hi", timeout=60)
    assert http.status_code == 200 and http.json() == {"kind": "httpapi"}, http.text
    client(endpoint, "sqs").send_message(QueueUrl=ids["Queue"], MessageBody="m")
    client(endpoint, "kinesis").put_record(StreamName=ids["Stream"], Data=b"k", PartitionKey="p")
    client(endpoint, "dynamodb").put_item(TableName=ids["Source"], Item={"pk": {"S": "x"}})
    s3.put_object(Bucket=ids["Uploads"], Key="in/file.txt", Body=b"x")
    client(endpoint, "sns").publish(TopicArn=ids["Topic"], Message="hello")
    client(endpoint, "events").put_events(Entries=[{"Source": "cm.test", "DetailType": "t", "Detail": "{}"}])
    logs = client(endpoint, "logs")
    logs.create_log_stream(logGroupName=ids["AppLogs"], logStreamName="app")
    logs.put_log_events(logGroupName=ids["AppLogs"], logStreamName="app",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "ERROR from the app"}])
    for name, kind in ((ids["RecorderDaily"], "rule"), ("RecorderDailyV2", "schedule")):
        run = admin_request(f"{endpoint}/_cloudmicro/schedules/run", "POST",
                            json.dumps({"Name": name, "Kind": kind}).encode())
        with urllib.request.urlopen(run, timeout=30) as answer:
            assert answer.status == 200

    records = client(endpoint, "dynamodb")
    wanted = {"api", "httpapi", "sqs", "kinesis", "dynamodb", "s3", "sns", "schedule", "schedulev2", "rule", "logs"}
    seen: dict[str, str] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and set(seen) != wanted:
        items = records.scan(TableName=ids["Records"])["Items"]
        seen = {item["id"]["S"]: item["arn"]["S"] for item in items}
        time.sleep(0.3)
    assert set(seen) == wanted, f"not delivered: {sorted(wanted - set(seen))}"
    # every event source was wired to the alias AutoPublishAlias made
    assert set(seen.values()) == {out["RecorderAlias"]}, seen

    deadline = time.monotonic() + 30
    while (status := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING" \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status["status"] == "SUCCEEDED" and json.loads(status["output"]) == {"inline": {"b": 2}}

    original = cfn.get_template(StackName="samapp")
    assert "AWS::Serverless-2016-10-31" in original["TemplateBody"]
    assert original["StagesAvailable"] == ["Original", "Processed"]
    # a JSON body: botocore decodes it (its handler for GetTemplate)
    processed = cfn.get_template(StackName="samapp", TemplateStage="Processed")["TemplateBody"]
    assert "Transform" not in processed
    assert processed["Resources"]["Recorder"]["Type"] == "AWS::Lambda::Function"
    assert processed["Resources"]["RecorderAliaslive"]["Type"] == "AWS::Lambda::Alias"

    cfn.delete_stack(StackName="samapp")
    names = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    assert recorder not in names and out["Inline"] not in names
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []
    assert client(endpoint, "apigateway").get_rest_apis()["items"] == []


def test_a_bad_sam_template_gets_the_translators_reason(endpoint: str, project: Path, tmp_path: Path) -> None:
    cfn = client(endpoint, "cloudformation")
    bad = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      InlineCode: "def handler(e, c): return 1"
      Events:
        Odd: {Type: Carrier, Properties: {}}
"""
    failed = deploy(endpoint, tmp_path, "badsam", bad)
    assert failed.returncode != 0
    assert "Transform AWS::Serverless-2016-10-31 failed with" in failed.stderr
    assert "Resource with id [Fn] is invalid" in failed.stderr, failed.stderr
    with pytest.raises(ClientError) as refused:
        cfn.describe_stacks(StackName="badsam")
    assert refused.value.response["Error"]["Code"] == "ValidationError"  # nothing was made

    missing = str(project / "src" / "nowhere")
    with pytest.raises(ClientError) as no_folder:
        cfn.create_stack(StackName="nofolder", TemplateBody=json.dumps({
            "Transform": "AWS::Serverless-2016-10-31",
            "Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {
                "Runtime": "python3.11", "Handler": "app.handler", "CodeUri": missing}}}}))
    error = no_folder.value.response["Error"]
    assert error["Code"] == "ValidationError" and missing in error["Message"], error


LAYERED = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  LayerFolder: {Type: String}
Resources:
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties:
      LayerName: shared-words
      ContentUri: !Ref LayerFolder
      CompatibleRuntimes: [python3.11]
    Metadata: {BuildMethod: python3.11}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      Layers: [!Ref Shared]
      InlineCode: |
        import tabulate, words
        def handler(event, context):
            return {"word": words.WORD, "table": tabulate.tabulate([[words.WORD]], tablefmt="plain")}
Outputs:
  Layer: {Value: !Ref Shared}
  Fn: {Value: !Ref Fn}
"""


def test_a_sam_layer_from_a_folder_is_published_and_used_live(endpoint: str, project: Path, tmp_path: Path) -> None:
    cfn, lam = client(endpoint, "cloudformation"), client(endpoint, "lambda")
    layer = project / "src" / "shared"  # sam build's layout: the code and its requirements.txt at the top
    layer.mkdir(parents=True)
    (layer / "words.py").write_text("WORD = 'deployed'\n")
    (layer / "requirements.txt").write_text("tabulate==0.9.0\n")
    done = deploy(endpoint, tmp_path, "layered", LAYERED, LayerFolder=str(layer))
    assert done.returncode == 0, done.stderr + str(failures(cfn, "layered"))
    out = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="layered")["Stacks"][0]["Outputs"]}
    assert out["Layer"] == "arn:aws:lambda:us-east-1:123456789012:layer:shared-words:1"
    assert lam.get_layer_version_by_arn(Arn=out["Layer"])["CompatibleRuntimes"] == ["python3.11"]
    assert [x["Arn"] for x in lam.get_function(FunctionName=out["Fn"])["Configuration"]["Layers"]] == [out["Layer"]]
    assert json.loads(lam.invoke(FunctionName=out["Fn"], Payload=b"{}")["Payload"].read()) == {
        "word": "deployed", "table": "deployed"}  # tabulate: installed from the layer's requirements.txt
    (layer / "words.py").write_text("WORD = 'saved'\n")  # no build, no deploy
    assert json.loads(lam.invoke(FunctionName=out["Fn"], Payload=b"{}")["Payload"].read()) == {
        "word": "saved", "table": "saved"}

    cfn.delete_stack(StackName="layered")
    # SAM's layers are kept when their stack goes (RetentionPolicy: Retain by default), as on AWS
    assert [v["Version"] for v in lam.list_layer_versions(LayerName="shared-words")["LayerVersions"]] == [1]
    lam.delete_layer_version(LayerName="shared-words", VersionNumber=1)


def test_a_layer_whose_content_is_not_in_s3_fails_the_stack_with_its_reason(endpoint: str) -> None:
    cfn = client(endpoint, "cloudformation")
    cfn.create_stack(StackName="nolayer", TemplateBody=json.dumps({
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {"Layer": {"Type": "AWS::Serverless::LayerVersion", "Properties": {
            "ContentUri": "s3://somewhere/layer.zip"}}}}))
    assert cfn.describe_stacks(StackName="nolayer")["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cfn.describe_stack_events(StackName="nolayer")["StackEvents"]
    reason = next(e["ResourceStatusReason"] for e in events if e["ResourceStatus"] == "CREATE_FAILED")
    assert "Error occurred while GetObject. S3 Error Code: NoSuchBucket" in reason, reason  # AWS's words
    cfn.delete_stack(StackName="nolayer")
