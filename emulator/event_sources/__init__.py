"""Event sources: event source mappings and their pollers (SQS, DynamoDB Streams, Kinesis), event filtering."""
