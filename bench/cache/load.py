"""Loads the cache benchmark's tables and creates its cluster, with boto3 (the image's python3, botocore 1.43).

usage: load.py URL NKEYS NPART   (table cbench: NKEYS items of ~200 bytes; table qbench: NPART x 100 items;
cluster "bench" through the dax client), then reads every key and partition once through the cluster to warm it.
"""
import sys

import boto3
from botocore.config import Config

url, nkeys, npart = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
kw = dict(region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench", config=Config(retries={"max_attempts": 2}))
ddb = boto3.client("dynamodb", endpoint_url=url, **kw)
dax = boto3.client("dax", endpoint_url=url, **kw)

ddb.create_table(TableName="cbench", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
ddb.create_table(TableName="qbench", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
                 BillingMode="PAY_PER_REQUEST")
value = "v" * 160
for start in range(0, nkeys, 25):
    ddb.batch_write_item(RequestItems={"cbench": [{"PutRequest": {"Item": {"pk": {"S": "k%07d" % i}, "val": {"S": value}, "n": {"N": str(i)}}}}
                                                  for i in range(start, min(nkeys, start + 25))]})
for p in range(npart):
    for start in range(0, 100, 25):
        ddb.batch_write_item(RequestItems={"qbench": [{"PutRequest": {"Item": {"pk": {"S": "p%06d" % p}, "sk": {"S": "s%04d" % s}, "val": {"S": "x" * 100}}}}
                                                      for s in range(start, start + 25)]})

endpoint = dax.create_cluster(ClusterName="bench", NodeType="dax.r5.large", ReplicationFactor=1,
                              IamRoleArn="arn:aws:iam::000000000000:role/DAX")["Cluster"]["ClusterDiscoveryEndpoint"]["URL"]
print(endpoint)
cached = boto3.client("dynamodb", endpoint_url=endpoint, **kw)
for i in range(nkeys):
    cached.get_item(TableName="cbench", Key={"pk": {"S": "k%07d" % i}})
