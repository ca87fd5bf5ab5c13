"""A test function for event sources: records what it processed in DynamoDB, fails on request.

Each record's payload (SQS body, Kinesis data, DynamoDB NewImage "cmd") may hold
{"fail": "always" | "first", "how": "raise" | "report"}. "first" fails only the first time the
record is seen. After a failure, the records that must not be processed before it (the rest of
a FIFO group, or the rest of a stream batch) are reported failed too, as AWS recommends.
"""

import base64
import json
import os
import time

import boto3

ddb = boto3.client("dynamodb")
TABLE = os.environ.get("SINK_TABLE", "sink")


def _identify(record):
    if record.get("eventSource") == "aws:sqs":
        return record["messageId"], record["body"], record["attributes"].get("MessageGroupId")
    if record.get("eventSource") == "aws:kinesis":
        return record["kinesis"]["sequenceNumber"], base64.b64decode(record["kinesis"]["data"]).decode(), "stream"
    image = record["dynamodb"].get("NewImage", {})
    return record["dynamodb"]["SequenceNumber"], image.get("cmd", {}).get("S", "{}"), "stream"


def _first_time(ident):
    try:
        ddb.put_item(TableName=TABLE, Item={"id": {"S": f"seen#{ident}"}},
                     ConditionExpression="attribute_not_exists(id)")
        return True
    except ddb.exceptions.ConditionalCheckFailedException:
        return False


def sink_handler(event, context):
    processed, failures, blocked, raise_error = [], [], set(), False
    for record in event["Records"]:
        ident, payload, group = _identify(record)
        try:
            cmd = json.loads(payload)
        except ValueError:
            cmd = {}
        cmd = cmd if isinstance(cmd, dict) else {}
        mode = cmd.get("fail")
        failing = ((group is not None and group in blocked) or mode == "always"
                   or (mode == "first" and _first_time(ident)))
        if failing:
            failures.append({"itemIdentifier": ident})
            if group is not None:
                blocked.add(group)
            raise_error = raise_error or cmd.get("how") == "raise"
        else:
            processed.append(payload)
    ddb.put_item(TableName=TABLE, Item={
        "id": {"S": f"batch#{context.aws_request_id}"},
        "at": {"N": repr(time.time())},
        "size": {"N": str(len(event["Records"]))},
        "processed": {"S": json.dumps([] if raise_error else processed)},
        "failed": {"N": str(len(failures))},
        "event": {"S": json.dumps(event)},
    })
    if raise_error:
        raise RuntimeError(f"{len(failures)} record(s) failed")
    for payload in processed:
        ddb.update_item(TableName=TABLE, Key={"id": {"S": f"ok#{payload}"}},
                        UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}})
    return {"batchItemFailures": failures}
