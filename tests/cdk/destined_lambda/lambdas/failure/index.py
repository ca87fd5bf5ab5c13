"""Logs every failure record the bus routes here (CloudWatch Logs: /aws/lambda/<name>)."""

import json


def handler(event, context):
    print("failure record:", json.dumps(event["detail"], sort_keys=True))
    return {"logged": "failure"}
