"""Reports when an S3 event reached the handler (time.time() first thing) to the
bench-s3-results queue: {"key": <encoded key>, "at": <seconds>}."""

import json
import time

import boto3

sqs = boto3.client("sqs")
RESULTS = sqs.get_queue_url(QueueName="bench-s3-results")["QueueUrl"]


def s3probe_handler(event, context):
    now = time.time()
    for record in event.get("Records", []):
        sqs.send_message(QueueUrl=RESULTS, MessageBody=json.dumps({"key": record["s3"]["object"]["key"], "at": now}))
