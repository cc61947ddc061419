"""The AWS stores the lifecycle's tests create in moto, as the platform creates them."""

from __future__ import annotations

from components.data import REGISTRY_KEYS


def create_registry_table(dynamodb, name: str) -> None:
    """The registry table's key schema (components/data.py), billed on demand."""
    keys = REGISTRY_KEYS
    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": keys.hash_key, "KeyType": "HASH"},
            {"AttributeName": keys.range_key, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": keys.hash_key, "AttributeType": "S"},
            {"AttributeName": keys.range_key, "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
