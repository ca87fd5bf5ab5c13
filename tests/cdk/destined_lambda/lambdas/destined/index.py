"""The destined function: "please fail" fails; anything else succeeds with a message whose
source and action the success rule matches. Its Destinations send the result to the bus."""

import json

MESSAGE = "hello world"


class DestinedError(Exception):
    """The failure the failure rule matches (responsePayload.errorType)."""


def handler(event, context):
    message = event["Records"][0]["Sns"]["Message"]
    print("received", json.dumps(message))
    if message == "please fail":
        raise DestinedError("[Error] you asked me to fail")
    return {"source": "cdkpatterns.the-destined-lambda", "action": "message", "message": MESSAGE}
