"""Invokes another function (hello) with boto3, as on AWS, and returns what it said."""

import json

import boto3

lambda_client = boto3.client("lambda")


def callHello_handler(event, context):
    response = lambda_client.invoke(FunctionName="hello", Payload=json.dumps(event))
    payload = json.loads(response["Payload"].read())
    if "FunctionError" in response:
        raise RuntimeError(f"hello failed: {payload}")
    return {"hello_said": payload["message"], "status": response["StatusCode"]}
