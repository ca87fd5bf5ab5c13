"""The destinations example: logs a failed order (an EventBridge rule sends it the
"Lambda Function Invocation Result - Failure" events of processOrder).

A record of an event that failed every attempt (condition RetriesExhausted) has the function's
error in responsePayload. One of an event that expired in the queue (EventAgeExceeded) has a
response only if some attempt ran, and none if the event never ran: the error is then None.
"""

import json


def _error(record):
    response = record.get("responsePayload")
    if isinstance(response, dict):
        return response.get("errorMessage", json.dumps(response))
    return None if response is None else str(response)


def orderFailed_handler(event, context):
    record = event["detail"]
    request = record.get("requestPayload")
    print(json.dumps({"level": "ERROR", "message": "order failed",
                      "orderId": request.get("orderId") if isinstance(request, dict) else None,
                      "condition": record["requestContext"]["condition"],
                      "attempts": record["requestContext"].get("approximateInvokeCount"),
                      "error": _error(record)}))
    return record["requestContext"]["requestId"]
