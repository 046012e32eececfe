"""What the boto3 test scripts share: a client for the host at DDB_ENDPOINT, and a pk (S) / sk (N) table."""
import os

import boto3
from botocore.config import Config


def client(service="dynamodb", verify=None):
    return boto3.client(
        service,
        endpoint_url=os.environ["DDB_ENDPOINT"],
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        verify=verify,
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=10),
    )


def create_table(ddb, name):
    """A PAY_PER_REQUEST table with hash key pk (S) and range key sk (N), once it is ACTIVE."""
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    return name
