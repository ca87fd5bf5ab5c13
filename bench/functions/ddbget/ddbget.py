import time

import boto3

table = boto3.client("dynamodb")


def ddbget_handler(event, context):
    key = {"pk": {"S": "k"}}
    table.get_item(TableName=event["table"], Key=key)  # warm the connection
    times = []
    for _ in range(event.get("n", 50)):
        started = time.perf_counter()
        table.get_item(TableName=event["table"], Key=key)
        times.append((time.perf_counter() - started) * 1000)
    return times
