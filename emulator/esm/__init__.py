"""Event source mappings: the pollers that read queues and streams and invoke functions with batches.

:mod:`.mappings` is the configuration, validated as AWS validates it; :mod:`.manager` is the
service behind the API (persistence, one poller task per enabled mapping); :mod:`.sqs` and
:mod:`.streams` (DynamoDB Streams, Kinesis) are the pollers, with the record shapes Lambda
delivers. Pollers are asyncio tasks on the control plane's event loop; their AWS calls are
blocking boto3 calls run in a thread pool. A batch goes through the invocation seam like any
other invoke.
"""
