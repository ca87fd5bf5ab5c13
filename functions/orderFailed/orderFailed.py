"""The destinations example: logs a failed order (an EventBridge rule sends it the
"Lambda Function Invocation Result - Failure" events of processOrder)."""

import json


def orderFailed_handler(event, context):
    record = event["detail"]
    print(json.dumps({"level": "ERROR", "message": "order failed",
                      "orderId": record["requestPayload"].get("orderId"),
                      "condition": record["requestContext"]["condition"],
                      "error": record["responsePayload"]["errorMessage"]}))
    return record["requestContext"]["requestId"]
