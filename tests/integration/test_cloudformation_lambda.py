"""CloudFormation through the endpoint makes its Lambda resources in Cloudmicro's Lambda.

``aws cloudformation deploy`` (Debian's AWS CLI v2) of a plain template: a function with inline
code, one from an S3 object, an SQS queue feeding a third through an EventSourceMapping, a
Permission, a function URL and outputs. The functions are listed and run (Docker executor), the
queue's message reaches its function, a second deploy changes the inline code, DeleteStack
removes them. A type no one makes fails the stack with its reason in the events, and the failed
stack can be described and deleted; a Version and an Alias are published, updated and deleted;
a template URL on 127.0.0.1 works; errors are XML.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from emulator.testing.pytest_plugin import client

AWS = "/usr/bin/aws"

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Description: Cloudmicro CloudFormation Lambda test
Parameters:
  CodeBucket: {Type: String}
  ProbeBucket: {Type: String}
Resources:
  Inline:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      Role: arn:aws:iam::123456789012:role/anything
      Timeout: 10
      Environment: {Variables: {GREETING: hello}}
      Tags: [{Key: team, Value: blue}]
      Code:
        ZipFile: |
          import os
          def handler(event, context):
              return {"greeting": os.environ["GREETING"], "code": "VERSION"}
  FromS3:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: cfn-from-s3
      Runtime: python3.11
      Handler: app.handler
      Role: arn:aws:iam::123456789012:role/anything
      Code: {S3Bucket: !Ref CodeBucket, S3Key: code/app.zip}
  Queue:
    Type: AWS::SQS::Queue
    Properties: {VisibilityTimeout: 30}
  Consumer:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      Role: arn:aws:iam::123456789012:role/anything
      Environment: {Variables: {PROBE_BUCKET: !Ref ProbeBucket}}
      Code:
        ZipFile: |
          import os, boto3
          def handler(event, context):
              s3 = boto3.client("s3")
              for record in event["Records"]:
                  s3.put_object(Bucket=os.environ["PROBE_BUCKET"], Key=record["body"], Body=b"seen")
  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: !Ref Consumer
      EventSourceArn: !GetAtt Queue.Arn
      BatchSize: 1
  Allow:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !GetAtt Inline.Arn
      Action: lambda:InvokeFunction
      Principal: s3.amazonaws.com
  InlineUrl:
    Type: AWS::Lambda::Url
    Properties:
      TargetFunctionArn: !Ref Inline
      AuthType: NONE
Outputs:
  InlineName: {Value: !Ref Inline}
  InlineArn: {Value: !GetAtt Inline.Arn}
  MappingId: {Value: !Ref Mapping}
  Url: {Value: !GetAtt InlineUrl.FunctionUrl}
  QueueUrl: {Value: !Ref Queue}
"""

APP = "def handler(event, context):\n    return {'from': 's3', 'echo': event}\n"


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory, cloudmicro_server: Any, docker_engine: Any) -> str:
    root = tmp_path_factory.mktemp("cfn")
    (root / "functions").mkdir()
    return str(cloudmicro_server(functions_dir=root / "functions", executor="docker", state_dir=root / "state",
                                 deps_dir=None, seed_on_start=False, idle_timeout=600))


def aws(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
               AWS_PAGER="")
    return subprocess.run([AWS, "--endpoint-url", endpoint, *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def deploy(endpoint: str, folder: Path, stack: str, template: str, **parameters: str) -> subprocess.CompletedProcess[str]:
    path = folder / f"{stack}.yaml"
    path.write_text(template)
    overrides = [f"{k}={v}" for k, v in parameters.items()]
    args = ["cloudformation", "deploy", "--stack-name", stack, "--template-file", str(path)]
    if overrides:
        args += ["--parameter-overrides", *overrides]
    return aws(endpoint, *args)


def outputs(cfn: Any, stack: str) -> dict[str, str]:
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def wait_for(check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_deploy_runs_updates_and_deletes_lambda_resources(endpoint: str, tmp_path: Path) -> None:
    s3, lam, cfn = client(endpoint, "s3"), client(endpoint, "lambda"), client(endpoint, "cloudformation")
    code_bucket, probe_bucket = f"code-{uuid.uuid4().hex[:8]}", f"probe-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=code_bucket)
    s3.create_bucket(Bucket=probe_bucket)
    s3.put_object(Bucket=code_bucket, Key="code/app.zip", Body=_zip({"app.py": APP}))

    first = deploy(endpoint, tmp_path, "shop", TEMPLATE.replace("VERSION", "v1"),
                   CodeBucket=code_bucket, ProbeBucket=probe_bucket)
    assert first.returncode == 0, first.stdout + first.stderr
    stack = cfn.describe_stacks(StackName="shop")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    out = outputs(cfn, "shop")
    inline = out["InlineName"]
    assert inline.startswith("shop-Inline-") and len(inline) == len("shop-Inline-") + 12
    assert out["InlineArn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{inline}"

    names = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    assert {inline, "cfn-from-s3"} <= names
    assert lam.get_function(FunctionName=inline)["Tags"]["team"] == "blue"

    answer = lam.invoke(FunctionName=inline, Payload=b"{}")
    assert json.loads(answer["Payload"].read()) == {"greeting": "hello", "code": "v1"}
    answer = lam.invoke(FunctionName="cfn-from-s3", Payload=b'{"a": 1}')
    assert json.loads(answer["Payload"].read()) == {"from": "s3", "echo": {"a": 1}}

    mapping = lam.get_event_source_mapping(UUID=out["MappingId"])
    assert ":function:shop-Consumer-" in mapping["FunctionArn"]
    assert mapping["EventSourceArn"].endswith(":" + out["QueueUrl"].rsplit("/", 1)[1])
    client(endpoint, "sqs").send_message(QueueUrl=out["QueueUrl"], MessageBody="order-1")
    assert wait_for(lambda: s3.list_objects_v2(Bucket=probe_bucket).get("KeyCount", 0) > 0), \
        "the queue's message did not reach its function"
    assert s3.list_objects_v2(Bucket=probe_bucket)["Contents"][0]["Key"] == "order-1"

    policy = json.loads(lam.get_policy(FunctionName=inline)["Policy"])
    assert [s["Principal"] for s in policy["Statement"]] == [{"Service": "s3.amazonaws.com"}]
    url = out["Url"]
    assert url == lam.get_function_url_config(FunctionName=inline)["FunctionUrl"]
    host = url.split("//", 1)[1].split(":", 1)[0]
    served = requests.get(f"{endpoint}/", headers={"Host": f"{host}:{endpoint.rsplit(':', 1)[1]}"}, timeout=30)
    assert served.json() == {"greeting": "hello", "code": "v1"}

    second = deploy(endpoint, tmp_path, "shop", TEMPLATE.replace("VERSION", "v2"),
                    CodeBucket=code_bucket, ProbeBucket=probe_bucket)
    assert second.returncode == 0, second.stdout + second.stderr
    assert cfn.describe_stacks(StackName="shop")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    assert outputs(cfn, "shop")["InlineName"] == inline
    answer = lam.invoke(FunctionName=inline, Payload=b"{}")
    assert json.loads(answer["Payload"].read()) == {"greeting": "hello", "code": "v2"}

    cfn.delete_stack(StackName="shop")
    cfn.get_waiter("stack_delete_complete").wait(StackName="shop", WaiterConfig={"Delay": 1})
    names = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    assert inline not in names and "cfn-from-s3" not in names
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []


def test_a_type_no_one_makes_fails_the_stack_which_can_be_described_and_deleted(endpoint: str,
                                                                                  tmp_path: Path) -> None:
    cfn, lam = client(endpoint, "cloudformation"), client(endpoint, "lambda")
    template = """
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: doomed
      Runtime: python3.11
      Handler: index.handler
      Role: arn:aws:iam::123456789012:role/anything
      Code: {ZipFile: "def handler(e, c):\\n    return 1\\n"}
  Odd:
    Type: AWS::Nowhere::Thing
    DependsOn: Fn
    Properties: {Size: 1}
"""
    failed = deploy(endpoint, tmp_path, "odd", template)
    assert failed.returncode != 0
    stack = cfn.describe_stacks(StackName="odd")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cfn.describe_stack_events(StackName="odd")["StackEvents"]
    odd = [e for e in events if e["LogicalResourceId"] == "Odd" and e["ResourceStatus"] == "CREATE_FAILED"]
    assert odd and "AWS::Nowhere::Thing" in odd[0]["ResourceStatusReason"]
    assert any(e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS" and "[Odd]" in e.get("ResourceStatusReason", "")
               for e in events)
    assert "doomed" not in {f["FunctionName"] for f in lam.list_functions()["Functions"]}  # rolled back

    cfn.delete_stack(StackName="odd")
    with pytest.raises(ClientError) as gone:
        cfn.describe_stacks(StackName="odd")
    assert gone.value.response["Error"]["Code"] == "ValidationError"


def test_a_version_and_an_alias_are_published_updated_and_deleted(endpoint: str) -> None:
    cfn, lam = client(endpoint, "cloudformation"), client(endpoint, "lambda")

    def template(answer: str, version: str, weight: float | None) -> str:
        alias: dict[str, Any] = {"FunctionName": {"Ref": "Fn"}, "Name": "live",
                                 "FunctionVersion": {"Fn::GetAtt": [version, "Version"]}}
        if weight is not None:
            alias["RoutingConfig"] = {"AdditionalVersionWeights": [
                {"FunctionVersion": {"Fn::GetAtt": ["V1", "Version"]}, "FunctionWeight": weight}]}
        resources: dict[str, Any] = {
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
                "FunctionName": "versioned", "Runtime": "python3.11", "Handler": "index.handler", "Role": "r",
                "Code": {"ZipFile": f"def handler(e, c):\n    return {answer!r}\n"}}},
            "V1": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}},
            "Live": {"Type": "AWS::Lambda::Alias", "Properties": alias}}
        if version == "V2":
            resources["V2"] = {"Type": "AWS::Lambda::Version", "DependsOn": "V1",
                               "Properties": {"FunctionName": {"Ref": "Fn"}}}
        return json.dumps({"Resources": resources, "Outputs": {
            "V": {"Value": {"Ref": version}}, "N": {"Value": {"Fn::GetAtt": [version, "Version"]}},
            "Alias": {"Value": {"Ref": "Live"}}}})

    cfn.create_stack(StackName="versioned", TemplateBody=template("one", "V1", None))
    assert cfn.describe_stacks(StackName="versioned")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    arn = "arn:aws:lambda:us-east-1:123456789012:function:versioned"
    assert outputs(cfn, "versioned") == {"V": f"{arn}:1", "N": "1", "Alias": f"{arn}:live"}
    assert json.loads(lam.invoke(FunctionName="versioned", Qualifier="live")["Payload"].read()) == "one"

    # the code and a new version of it in one update: the version is published after the code changed
    cfn.update_stack(StackName="versioned", TemplateBody=template("two", "V2", 0.0))
    events = cfn.describe_stack_events(StackName="versioned")["StackEvents"]
    assert cfn.describe_stacks(StackName="versioned")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE", \
        [e.get("ResourceStatusReason") for e in events if e["ResourceStatus"].endswith("FAILED")]
    assert outputs(cfn, "versioned") == {"V": f"{arn}:2", "N": "2", "Alias": f"{arn}:live"}
    alias = lam.get_alias(FunctionName="versioned", Name="live")
    assert (alias["FunctionVersion"], alias["RoutingConfig"]) == ("2", {"AdditionalVersionWeights": {"1": 0.0}})
    answer = lam.invoke(FunctionName="versioned", Qualifier="live")
    assert (json.loads(answer["Payload"].read()), answer["ExecutedVersion"]) == ("two", "2")
    assert json.loads(lam.invoke(FunctionName="versioned", Qualifier="1")["Payload"].read()) == "one"

    cfn.delete_stack(StackName="versioned")
    assert "versioned" not in {f["FunctionName"] for f in lam.list_functions()["Functions"]}


def test_template_url_on_127_0_0_1_and_errors_are_xml(endpoint: str) -> None:
    s3, cfn = client(endpoint, "s3"), client(endpoint, "cloudformation")
    s3.create_bucket(Bucket="templates")
    template = {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}, "Outputs": {"Q": {"Value": {"Ref": "Q"}}}}
    s3.put_object(Bucket="templates", Key="dir/q.json", Body=json.dumps(template).encode())
    cfn.create_stack(StackName="by-url", TemplateURL=f"{endpoint}/templates/dir/q.json")
    assert cfn.describe_stacks(StackName="by-url")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert outputs(cfn, "by-url")["Q"].endswith("/by-url-Q-" + outputs(cfn, "by-url")["Q"].rsplit("-", 1)[1])
    cfn.delete_stack(StackName="by-url")

    with pytest.raises(ClientError) as missing_key:
        cfn.create_stack(StackName="nope", TemplateURL=f"{endpoint}/templates/absent.json")
    assert missing_key.value.response["Error"]["Code"] == "ValidationError"

    with pytest.raises(ClientError) as missing:
        cfn.describe_stacks(StackName="no-such-stack")
    error = missing.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("ValidationError", "Stack with id no-such-stack does not exist")
    raw = requests.post(endpoint, data={"Action": "DescribeStacks", "StackName": "no-such-stack",
                                        "Version": "2010-05-15"},
                        headers={"Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/"
                                                  "cloudformation/aws4_request, SignedHeaders=host, Signature=x"},
                        timeout=30)
    assert raw.status_code == 400 and raw.text.lstrip().startswith("<")
    assert "<Code>ValidationError</Code>" in raw.text


def test_a_failed_update_rolls_back_to_the_previous_template(endpoint: str) -> None:
    cfn, lam = client(endpoint, "cloudformation"), client(endpoint, "lambda")

    def template(runtime: str, answer: str) -> str:
        return json.dumps({"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": "rolled", "Runtime": runtime, "Handler": "index.handler", "Role": "r",
            "Code": {"ZipFile": f"def handler(e, c):\n    return {answer!r}\n"}}}}})

    cfn.create_stack(StackName="rolling", TemplateBody=template("python3.11", "before"))
    cfn.update_stack(StackName="rolling", TemplateBody=template("python2.7", "after"))
    assert cfn.describe_stacks(StackName="rolling")["Stacks"][0]["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    events = cfn.describe_stack_events(StackName="rolling")["StackEvents"]
    failed = next(e for e in events if e["ResourceStatus"] == "UPDATE_FAILED")
    assert failed["LogicalResourceId"] == "Fn" and "python2.7" in failed["ResourceStatusReason"]
    assert json.loads(lam.invoke(FunctionName="rolled")["Payload"].read()) == "before"
    assert lam.get_function(FunctionName="rolled")["Configuration"]["Runtime"] == "python3.11"
    cfn.delete_stack(StackName="rolling")
    assert "rolled" not in {f["FunctionName"] for f in lam.list_functions()["Functions"]}


def test_a_circular_ref_and_a_bad_intrinsic_are_refused_before_anything_is_made(endpoint: str, tmp_path: Path) -> None:
    circular = json.dumps({"Resources": {
        "A": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::GetAtt": ["B", "QueueName"]}}},
        "B": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::GetAtt": ["A", "QueueName"]}}}}})
    bad = json.dumps({"Resources": {"A": {"Type": "AWS::SQS::Queue", "Properties": {
        "QueueName": {"Fn::Select": ["first", "not-a-list"]}}}}})
    for stack, template, reason in (
            ("circular", circular, "Circular dependency between resources: [A, B]"),
            ("badfn", bad, "Template error: Fn::Select requires a list argument with two elements"),
            ("noref", json.dumps({"Resources": {"A": {"Type": "AWS::SQS::Queue", "Properties": {
                "QueueName": {"Ref": "Nowhere"}}}}}), "Unresolved resource dependencies [Nowhere]")):
        done = deploy(endpoint, tmp_path, stack, template)
        assert done.returncode != 0 and reason in done.stderr, done.stderr
        with pytest.raises(ClientError) as missing:  # no half-made stack is left behind
            client(endpoint, "cloudformation").describe_stacks(StackName=stack)
        assert f"Stack with id {stack} does not exist" in str(missing.value)


def test_a_layer_version_from_the_local_s3_is_published_replaced_and_deleted(endpoint: str) -> None:
    cfn, lam, s3 = client(endpoint, "cloudformation"), client(endpoint, "lambda"), client(endpoint, "s3")
    bucket = f"layers-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    for key, word in (("one.zip", "one"), ("two.zip", "two")):
        s3.put_object(Bucket=bucket, Key=key, Body=_zip({"python/words.py": f"WORD = {word!r}\n"}))

    def template(key: str) -> str:
        return json.dumps({"Resources": {
            "Words": {"Type": "AWS::Lambda::LayerVersion", "Properties": {
                "LayerName": "cfn-words", "Description": key, "Content": {"S3Bucket": bucket, "S3Key": key}}},
            "Shared": {"Type": "AWS::Lambda::LayerVersionPermission", "Properties": {
                "LayerVersionArn": {"Ref": "Words"}, "Action": "lambda:GetLayerVersion", "Principal": "*",
                "OrganizationId": "o-t194hfs8cz"}},
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
                "FunctionName": "layered-cfn", "Runtime": "python3.11", "Handler": "index.handler", "Role": "r",
                "Layers": [{"Ref": "Words"}],
                "Code": {"ZipFile": "import words\ndef handler(e, c):\n    return words.WORD\n"}}}},
            "Outputs": {"Layer": {"Value": {"Fn::GetAtt": ["Words", "LayerVersionArn"]}}}})

    layer = "arn:aws:lambda:us-east-1:123456789012:layer:cfn-words"
    cfn.create_stack(StackName="cfnlayer", TemplateBody=template("one.zip"))
    assert cfn.describe_stacks(StackName="cfnlayer")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert outputs(cfn, "cfnlayer") == {"Layer": f"{layer}:1"}
    assert json.loads(lam.invoke(FunctionName="layered-cfn")["Payload"].read()) == "one"
    [statement] = json.loads(lam.get_layer_version_policy(LayerName="cfn-words", VersionNumber=1)["Policy"])["Statement"]
    assert (statement["Principal"], statement["Resource"], statement["Condition"]) == (
        "*", f"{layer}:1", {"StringEquals": {"aws:PrincipalOrgID": "o-t194hfs8cz"}})
    shared = cfn.describe_stack_resource(StackName="cfnlayer", LogicalResourceId="Shared")["StackResourceDetail"]
    assert shared["PhysicalResourceId"] == f"{layer}:1#{statement['Sid']}"

    cfn.update_stack(StackName="cfnlayer", TemplateBody=template("two.zip"))  # every property: a new version
    events = cfn.describe_stack_events(StackName="cfnlayer")["StackEvents"]
    assert cfn.describe_stacks(StackName="cfnlayer")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE", \
        [e.get("ResourceStatusReason") for e in events if e["ResourceStatus"].endswith("FAILED")]
    assert outputs(cfn, "cfnlayer") == {"Layer": f"{layer}:2"}
    assert [x["Arn"] for x in lam.get_function(FunctionName="layered-cfn")["Configuration"]["Layers"]] == [
        f"{layer}:2"]
    assert json.loads(lam.invoke(FunctionName="layered-cfn")["Payload"].read()) == "two"
    assert [v["Version"] for v in lam.list_layer_versions(LayerName="cfn-words")["LayerVersions"]] == [2]
    policy = json.loads(lam.get_layer_version_policy(LayerName="cfn-words", VersionNumber=2)["Policy"])
    assert [s["Resource"] for s in policy["Statement"]] == [f"{layer}:2"]  # the permission followed the version

    cfn.delete_stack(StackName="cfnlayer")
    assert lam.list_layer_versions(LayerName="cfn-words")["LayerVersions"] == []
