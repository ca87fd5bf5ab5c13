"""Every AWS service a function uses answers through the one endpoint, with boto3 and the AWS CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import boto3
import pytest


@pytest.fixture(scope="module")
def endpoint(process_endpoint):
    return process_endpoint


def aws(endpoint: str, service: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def test_every_service_answers_a_basic_call(endpoint):
    suffix = os.urandom(3).hex()
    ddb = aws(endpoint, "dynamodb")
    ddb.create_table(TableName=f"t{suffix}", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    ddb.put_item(TableName=f"t{suffix}", Item={"k": {"S": "a"}})
    assert ddb.get_item(TableName=f"t{suffix}", Key={"k": {"S": "a"}})["Item"] == {"k": {"S": "a"}}
    stream = ddb.describe_table(TableName=f"t{suffix}")["Table"]["LatestStreamArn"]
    assert aws(endpoint, "dynamodbstreams").describe_stream(StreamArn=stream)["StreamDescription"]["Shards"]

    s3 = aws(endpoint, "s3")
    s3.create_bucket(Bucket=f"bucket-{suffix}")
    s3.put_object(Bucket=f"bucket-{suffix}", Key="a b/c.txt", Body=b"hi")
    assert s3.get_object(Bucket=f"bucket-{suffix}", Key="a b/c.txt")["Body"].read() == b"hi"
    url = s3.generate_presigned_url("get_object", Params={"Bucket": f"bucket-{suffix}", "Key": "a b/c.txt"})
    assert urllib.request.urlopen(url).read() == b"hi"
    # a bucket whose name looks like a Lambda API path still goes to S3
    assert s3.create_bucket(Bucket="2015-03-31")["ResponseMetadata"]["HTTPStatusCode"] == 200

    assert aws(endpoint, "sns").create_topic(Name=f"topic{suffix}")["TopicArn"].endswith(f":topic{suffix}")
    sqs = aws(endpoint, "sqs")
    queue = sqs.create_queue(QueueName=f"q{suffix}")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="m")
    assert sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"] == "m"
    assert aws(endpoint, "events").put_rule(Name=f"r{suffix}", ScheduleExpression="rate(1 minute)")["RuleArn"]
    logs = aws(endpoint, "logs")
    logs.create_log_group(logGroupName=f"/g/{suffix}")
    assert logs.describe_log_groups(logGroupNamePrefix=f"/g/{suffix}")["logGroups"]
    kinesis = aws(endpoint, "kinesis")
    kinesis.create_stream(StreamName=f"s{suffix}", ShardCount=1)
    assert kinesis.describe_stream(StreamName=f"s{suffix}")["StreamDescription"]["StreamStatus"] == "ACTIVE"
    sfn = aws(endpoint, "stepfunctions")
    machine = sfn.create_state_machine(
        name=f"m{suffix}", roleArn="arn:aws:iam::123456789012:role/r",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))
    assert sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])["status"] == "ACTIVE"
    ssm = aws(endpoint, "ssm")
    ssm.put_parameter(Name=f"/p/{suffix}", Value="v", Type="String")
    assert ssm.get_parameter(Name=f"/p/{suffix}")["Parameter"]["Value"] == "v"
    secrets = aws(endpoint, "secretsmanager")
    secrets.create_secret(Name=f"s{suffix}", SecretString="x")
    assert secrets.get_secret_value(SecretId=f"s{suffix}")["SecretString"] == "x"
    assert "echo" in [f["FunctionName"] for f in aws(endpoint, "lambda").list_functions()["Functions"]]


def test_aws_cli_talks_to_several_services(endpoint, tmp_path):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}

    def cli(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "awscli", "--endpoint-url", endpoint, *args],
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    cli("s3", "mb", "s3://cli-bucket")
    (tmp_path / "f.txt").write_text("from the cli")
    cli("s3", "cp", str(tmp_path / "f.txt"), "s3://cli-bucket/f.txt")
    assert "f.txt" in cli("s3", "ls", "s3://cli-bucket")
    cli("dynamodb", "create-table", "--table-name", "cli_table", "--attribute-definitions",
        "AttributeName=k,AttributeType=S", "--key-schema", "AttributeName=k,KeyType=HASH",
        "--billing-mode", "PAY_PER_REQUEST")
    assert json.loads(cli("dynamodb", "describe-table", "--table-name", "cli_table"))["Table"]["TableName"] == "cli_table"
    assert "QueueUrl" in cli("sqs", "create-queue", "--queue-name", "cli-queue")
    assert "echo" in cli("lambda", "list-functions")


def test_health_reports_each_part(endpoint):
    health = json.loads(urllib.request.urlopen(endpoint + "/_cloudmicro/health").read())
    assert health["status"] == "ok"
    assert health["lambda"]["status"] == "running" and health["lambda"]["executor"] == "process"
    assert health["aws"]["mode"] == "embedded" and health["aws"]["status"] == "running"


def test_reset_wipes_all_state(make_server, tmp_path):
    from tests.conftest import TEST_FUNCTIONS

    endpoint = make_server(TEST_FUNCTIONS, "process")
    s3 = aws(endpoint, "s3")
    s3.create_bucket(Bucket="to-be-wiped")
    lam = aws(endpoint, "lambda")
    import io
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.py", "def h(e, c):\n    return 1\n")
    lam.create_function(FunctionName="temp", Runtime="python3.11", Handler="a.h", Role="r",
                        Code={"ZipFile": buffer.getvalue()})
    queue = aws(endpoint, "sqs").create_queue(QueueName="to-be-wiped")["QueueUrl"]
    queue_arn = aws(endpoint, "sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    lam.create_event_source_mapping(FunctionName="echo", EventSourceArn=queue_arn["Attributes"]["QueueArn"])
    done = subprocess.run([sys.executable, "-m", "emulator", "reset", "--endpoint", endpoint],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert s3.list_buckets()["Buckets"] == []
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    assert "temp" not in names and "echo" in names  # folder functions are files, not state
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []  # no poller left on a gone queue
