"""Shared db_gen test data: table requests, describe-table output, and a file writer.

The integration tests (tests/integration/test_db_gen.py) seed from the same samples.
"""

from __future__ import annotations

import json
from pathlib import Path

WORDS_REQUEST = {
    "TableName": "words",
    "KeySchema": [{"AttributeName": "word", "KeyType": "HASH"}],
    "AttributeDefinitions": [
        {"AttributeName": "word", "AttributeType": "S"},
        {"AttributeName": "language_code", "AttributeType": "S"},
    ],
    "BillingMode": "PAY_PER_REQUEST",
    "GlobalSecondaryIndexes": [{
        "IndexName": "language_code-index",
        "KeySchema": [{"AttributeName": "language_code", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
    }],
}

# `aws dynamodb describe-table --table-name orders` of an on-demand table, every read-only field in.
DESCRIBE_ON_DEMAND = {
    "Table": {
        "AttributeDefinitions": [
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "order_id", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
            {"AttributeName": "placed_at", "AttributeType": "N"},
        ],
        "TableName": "orders",
        "KeySchema": [
            {"AttributeName": "customer", "KeyType": "HASH"},
            {"AttributeName": "order_id", "KeyType": "RANGE"},
        ],
        "TableStatus": "ACTIVE",
        "CreationDateTime": "2024-05-02T10:11:12.345000+02:00",
        "ProvisionedThroughput": {
            "LastIncreaseDateTime": "2024-05-02T10:11:12.345000+02:00",
            "LastDecreaseDateTime": "2024-05-02T10:11:12.345000+02:00",
            "NumberOfDecreasesToday": 0,
            "ReadCapacityUnits": 0,
            "WriteCapacityUnits": 0,
        },
        "TableSizeBytes": 123456,
        "ItemCount": 789,
        "TableArn": "arn:aws:dynamodb:eu-south-1:123456789012:table/orders",
        "TableId": "0f3c5c3e-1d2b-4c5d-9e8f-123456789abc",
        "BillingModeSummary": {
            "BillingMode": "PAY_PER_REQUEST",
            "LastUpdateToPayPerRequestDateTime": "2024-05-02T10:11:12.345000+02:00",
        },
        "LocalSecondaryIndexes": [{
            "IndexName": "placed_at-lsi",
            "KeySchema": [
                {"AttributeName": "customer", "KeyType": "HASH"},
                {"AttributeName": "placed_at", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
            "IndexSizeBytes": 2048,
            "ItemCount": 789,
            "IndexArn": "arn:aws:dynamodb:eu-south-1:123456789012:table/orders/index/placed_at-lsi",
        }],
        "GlobalSecondaryIndexes": [{
            "IndexName": "status-index",
            "KeySchema": [
                {"AttributeName": "status", "KeyType": "HASH"},
                {"AttributeName": "placed_at", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]},
            "IndexStatus": "ACTIVE",
            "Backfilling": False,
            "ProvisionedThroughput": {
                "NumberOfDecreasesToday": 0,
                "ReadCapacityUnits": 0,
                "WriteCapacityUnits": 0,
            },
            "IndexSizeBytes": 4096,
            "ItemCount": 789,
            "IndexArn": "arn:aws:dynamodb:eu-south-1:123456789012:table/orders/index/status-index",
            "OnDemandThroughput": {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": -1},
            "WarmThroughput": {"ReadUnitsPerSecond": 12000, "WriteUnitsPerSecond": 4000, "Status": "ACTIVE"},
        }],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        "LatestStreamLabel": "2024-05-02T08:11:12.345",
        "LatestStreamArn": "arn:aws:dynamodb:eu-south-1:123456789012:table/orders/stream/2024-05-02T08:11:12.345",
        "GlobalTableVersion": "2019.11.21",
        "Replicas": [{"RegionName": "eu-west-1", "ReplicaStatus": "ACTIVE"}],
        "RestoreSummary": {
            "SourceBackupArn": "arn:aws:dynamodb:eu-south-1:123456789012:table/orders/backup/01234",
            "SourceTableArn": "arn:aws:dynamodb:eu-south-1:123456789012:table/orders-old",
            "RestoreDateTime": "2024-05-01T00:00:00+00:00",
            "RestoreInProgress": False,
        },
        "SSEDescription": {
            "Status": "ENABLED",
            "SSEType": "KMS",
            "KMSMasterKeyArn": "arn:aws:kms:eu-south-1:123456789012:key/abcd",
        },
        "ArchivalSummary": {"ArchivalDateTime": "2024-05-01T00:00:00+00:00", "ArchivalReason": "x"},
        "TableClassSummary": {"TableClass": "STANDARD_INFREQUENT_ACCESS", "LastUpdateDateTime": "2024-05-01T00:00:00+00:00"},
        "DeletionProtectionEnabled": True,
        "OnDemandThroughput": {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": -1},
        "WarmThroughput": {"ReadUnitsPerSecond": 12000, "WriteUnitsPerSecond": 4000, "Status": "ACTIVE"},
        "MultiRegionConsistency": "EVENTUAL",
    }
}


def write(tmp_path: Path, name: str, content) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path
