"""A test function that fails its first attempts: for Retry in Step Functions and the like.

The event is {"tag": "...", "fail_times": N}. Each call records one attempt in the DynamoDB
table ``recorded`` (as tests/functions/recorder does, so tests/integration/recorded.py reads
them, function "flaky"); the attempt number comes from conditional writes, so it counts right
across environments. Attempts 1..N raise ``TransientError``; later ones return
{"tag": ..., "attempt": n}.
"""

import json
import os
import time

import boto3

ddb = boto3.client("dynamodb")
TABLE = os.environ.get("RECORDER_TABLE", "recorded")


class TransientError(Exception):
    pass


def flaky_handler(event, context):
    tag = event["tag"]
    attempt = 1
    while True:
        try:
            ddb.put_item(
                TableName=TABLE,
                Item={
                    "id": {"S": f"flaky#{tag}#{attempt}"},
                    "request_id": {"S": context.aws_request_id},
                    "function": {"S": context.function_name},
                    "event": {"S": json.dumps(event)},
                    "at": {"N": repr(time.time())},
                },
                ConditionExpression="attribute_not_exists(id)",
            )
            break
        except ddb.exceptions.ConditionalCheckFailedException:
            attempt += 1
    print(f"attempt {attempt} for {tag}")
    if attempt <= int(event.get("fail_times", 1)):
        raise TransientError(f"attempt {attempt} fails")
    return {"tag": tag, "attempt": attempt}
