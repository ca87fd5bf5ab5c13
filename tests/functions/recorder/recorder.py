"""A test function for push event sources: records every event it gets in the DynamoDB table
``recorded`` (one item per attempt), then fails when the event asks it to.

The event (as JSON text) containing "please-fail" makes it raise; containing "please-timeout"
makes it sleep past its timeout. Otherwise it returns {"ok": true, "request_id": ...}.
"""

import json
import os
import time
import uuid

import boto3

ddb = boto3.client("dynamodb")
TABLE = os.environ.get("RECORDER_TABLE", "recorded")


def recorder_handler(event, context):
    text = json.dumps(event)
    ddb.put_item(TableName=TABLE, Item={
        "id": {"S": uuid.uuid4().hex},
        "request_id": {"S": context.aws_request_id},
        "function": {"S": context.function_name},
        "event": {"S": text},
        "at": {"N": repr(time.time())},
    })
    if "please-fail" in text:
        raise RuntimeError("failing as asked")
    if "please-timeout" in text:
        time.sleep(60)
    return {"ok": True, "request_id": context.aws_request_id}
