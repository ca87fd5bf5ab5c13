"""Reports when an SNS or EventBridge event reached the handler, to the bench-stamps queue."""

import json
import time

import boto3

sqs = boto3.client("sqs")
STAMPS = sqs.get_queue_url(QueueName="bench-stamps")["QueueUrl"]


def stamp_handler(event, context):
    now = time.time()
    if "Records" in event:
        key = event["Records"][0]["Sns"]["Message"]
    elif "detail" in event:
        key = event["detail"]["key"]
    else:
        return {"warm": True}
    sqs.send_message(QueueUrl=STAMPS, MessageBody=json.dumps({"key": key, "at": now}))
    return {"key": key}
