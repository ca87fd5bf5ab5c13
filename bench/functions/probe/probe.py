"""Reports when each record reached the handler, to the bench-results queue."""

import json
import time

import boto3

sqs = boto3.client("sqs")
RESULTS = sqs.get_queue_url(QueueName="bench-results")["QueueUrl"]


def probe_handler(event, context):
    now = time.time()
    ids = []
    for record in event["Records"]:
        if record["eventSource"] == "aws:sqs":
            ids.append(record["body"])
        else:
            ids.append(record["dynamodb"]["Keys"]["k"]["S"])
    if ids:
        sqs.send_message(QueueUrl=RESULTS, MessageBody=json.dumps({"ids": ids, "at": now}))
