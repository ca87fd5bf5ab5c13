"""The destinations example: logs an accepted order (an EventBridge rule sends it the
"Lambda Function Invocation Result - Success" events of processOrder)."""

import json


def orderSucceeded_handler(event, context):
    record = event["detail"]
    order = record["responsePayload"]
    print(json.dumps({"level": "INFO", "message": "order accepted", "orderId": order["orderId"],
                      "total": order["total"], "requestId": record["requestContext"]["requestId"]}))
    return order["orderId"]
