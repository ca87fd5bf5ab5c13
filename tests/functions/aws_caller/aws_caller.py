"""Calls AWS services with plain, unconfigured boto3 — as code deployed to AWS would."""

import json
import os

import boto3


def aws_caller_handler(event, context):
    action = event["action"]
    if action == "dynamodb":
        table = boto3.resource("dynamodb").Table(event["table"])
        table.put_item(Item={"pk": event["key"], "from": context.function_name})
        return table.get_item(Key={"pk": event["key"]})["Item"]
    if action == "s3":
        s3 = boto3.client("s3")
        s3.put_object(Bucket=event["bucket"], Key=event["key"], Body=event["body"].encode())
        return {"etag": s3.head_object(Bucket=event["bucket"], Key=event["key"])["ETag"]}
    if action == "sns":
        reply = boto3.client("sns").publish(TopicArn=event["topic"], Message=event["message"])
        return {"MessageId": reply["MessageId"]}
    if action == "sqs":
        reply = boto3.client("sqs").send_message(QueueUrl=event["queue"], MessageBody=event["message"])
        return {"MessageId": reply["MessageId"]}
    if action == "lambda":
        response = boto3.client("lambda").invoke(
            FunctionName=event["function"], InvocationType=event.get("type", "RequestResponse"),
            Payload=json.dumps(event.get("payload", {})),
        )
        return {"status": response["StatusCode"], "payload": response["Payload"].read().decode()}
    if action == "env":
        return {k: v for k, v in os.environ.items() if k.startswith("AWS_") or k == "CUSTOM"}
    raise ValueError(f"unknown action {action}")
