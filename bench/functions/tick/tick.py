"""Reports when a scheduled event reached the handler, to the bench-ticks queue."""

import json
import time

import boto3

sqs = boto3.client("sqs")
TICKS = sqs.get_queue_url(QueueName="bench-ticks")["QueueUrl"]


def tick_handler(event, context):
    now = time.time()
    if "resources" in event:  # an EventBridge "Scheduled Event"
        name, scheduled = event["resources"][0].rsplit("/", 1)[-1], event["time"]
    elif "schedule" in event:  # a Scheduler schedule's Input
        name, scheduled = event["schedule"], event["time"]
    else:
        return {"warm": True}
    sqs.send_message(QueueUrl=TICKS, MessageBody=json.dumps({"name": name, "time": scheduled, "at": now}))
    return {"name": name}
