"""Writes the event's text to S3 (bucket from the BUCKET variable) and says where it went."""

import os

import boto3

s3 = boto3.client("s3")
BUCKET = os.environ.get("BUCKET", "cloudmicro-uploads")


def putObject_handler(event, context):
    key = event.get("key", f"uploads/{context.aws_request_id}.txt")
    try:
        s3.head_bucket(Bucket=BUCKET)
    except s3.exceptions.ClientError:
        s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=key, Body=event.get("text", "").encode(), ContentType="text/plain")
    return {"bucket": BUCKET, "key": key, "size": len(event.get("text", "").encode())}
