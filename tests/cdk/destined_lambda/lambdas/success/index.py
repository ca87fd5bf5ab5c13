"""Logs every success record the bus routes here (CloudWatch Logs: /aws/lambda/<name>)."""

import json


def handler(event, context):
    print("success record:", json.dumps(event["detail"], sort_keys=True))
    return {"logged": "success"}
