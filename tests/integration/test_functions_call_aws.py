"""Functions reach the local cloud with unchanged boto3, from containers and from processes."""

from __future__ import annotations

import json
import os
import time

import boto3

from tests.conftest import lambda_client


def aws(endpoint: str, service: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def call(endpoint: str, event: dict) -> dict:
    response = lambda_client(endpoint).invoke(FunctionName="aws_caller", Payload=json.dumps(event))
    body = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, body
    return body


def test_function_writes_and_reads_dynamodb(endpoint):
    table = "t" + os.urandom(4).hex()
    aws(endpoint, "dynamodb").create_table(
        TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    assert call(endpoint, {"action": "dynamodb", "table": table, "key": "k1"}) == {"pk": "k1", "from": "aws_caller"}
    item = aws(endpoint, "dynamodb").get_item(TableName=table, Key={"pk": {"S": "k1"}})["Item"]
    assert item["from"] == {"S": "aws_caller"}


def test_function_writes_to_s3(endpoint):
    bucket = "b" + os.urandom(4).hex()
    aws(endpoint, "s3").create_bucket(Bucket=bucket)
    call(endpoint, {"action": "s3", "bucket": bucket, "key": "dir/a b.txt", "body": "payload"})
    assert aws(endpoint, "s3").get_object(Bucket=bucket, Key="dir/a b.txt")["Body"].read() == b"payload"


def test_function_publishes_to_sns_and_sends_to_sqs(endpoint):
    sqs = aws(endpoint, "sqs")
    queue = sqs.create_queue(QueueName="q" + os.urandom(4).hex())["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns = aws(endpoint, "sns")
    topic = sns.create_topic(Name="t" + os.urandom(4).hex())["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    call(endpoint, {"action": "sns", "topic": topic, "message": "via sns"})
    call(endpoint, {"action": "sqs", "queue": queue, "message": "direct"})
    bodies = set()
    deadline = time.monotonic() + 10
    while len(bodies) < 2 and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            bodies.add(message["Body"])
    assert bodies == {"via sns", "direct"}


def test_function_invokes_another_function_sync_and_async(endpoint):
    result = call(endpoint, {"action": "lambda", "function": "echo", "payload": {"nested": True}})
    assert result["status"] == 200
    assert json.loads(result["payload"])["event"] == {"nested": True}
    result = call(endpoint, {"action": "lambda", "function": "echo", "type": "Event", "payload": {}})
    assert result["status"] == 202


def test_function_sees_the_local_endpoint_and_its_own_variables_win(endpoint):
    env = call(endpoint, {"action": "env"})
    assert env["AWS_ENDPOINT_URL"] == endpoint
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    assert env["CUSTOM"] == "mine"


def test_a_function_config_can_point_somewhere_else(make_server, tmp_path):
    folder = tmp_path / "functions" / "own"
    folder.mkdir(parents=True)
    (folder / "own.py").write_text("import os\ndef own_handler(e, c):\n    return os.environ['AWS_ENDPOINT_URL']\n")
    (folder / "function.json").write_text(json.dumps(
        {"Environment": {"Variables": {"AWS_ENDPOINT_URL": "http://elsewhere:1234"}}}))
    endpoint = make_server(tmp_path / "functions", "process")
    response = lambda_client(endpoint).invoke(FunctionName="own")
    assert json.loads(response["Payload"].read()) == "http://elsewhere:1234"
