"""Loads N items whose TTL has passed into a TTL-enabled table, for bench/streams/run.sh (boto3, BatchWriteItem)."""
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

url, table, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b",
                      config=Config(retries={"max_attempts": 3}, max_pool_connections=16))
expired = str(int(time.time()) - 60)


def load(start):
    items = [{"PutRequest": {"Item": {"pk": {"S": "k%07d" % i}, "exp": {"N": expired}, "val": {"S": "x" * 100}}}}
             for i in range(start, min(start + 25, count))]
    client.batch_write_item(RequestItems={table: items})


with ThreadPoolExecutor(16) as pool:
    list(pool.map(load, range(0, count, 25)))
print(f"loaded {count} expired items into {table}")
