"""Global tables through boto3, one client per region: a replica added with update_table, every replica's stream
holding every write of its region (local and replicated, one record each), and TTL deletes whose userIdentity shows
only in the region where the item expired."""
import os
import time
import unittest

import boto3

ENDPOINT = os.environ["DDB_ENDPOINT"]


def client(region, service="dynamodb"):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=region,
                        aws_access_key_id="local", aws_secret_access_key="local")


def eventually(condition, timeout=60):
    deadline = time.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def stream_records(region, table):
    ddb, streams = client(region), client(region, "dynamodbstreams")
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator)
            records.extend(page["Records"])
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return records


def events(records, key):
    return [r["eventName"] for r in records if r["dynamodb"]["Keys"]["pk"]["S"] == key]


class GlobalTables(unittest.TestCase):
    def test_replica_streams_and_ttl(self):
        east, west = client("us-east-1"), client("eu-west-1")
        east.create_table(TableName="gtable", BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        east.update_time_to_live(TableName="gtable", TimeToLiveSpecification={"AttributeName": "expires", "Enabled": True})
        response = east.update_table(TableName="gtable", ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}])
        self.assertEqual("2019.11.21", response["TableDescription"]["GlobalTableVersion"])
        eventually(lambda: [r["ReplicaStatus"] for r in east.describe_table(TableName="gtable")["Table"]["Replicas"]] == ["ACTIVE"])
        self.assertEqual("expires", west.describe_time_to_live(TableName="gtable")["TimeToLiveDescription"].get("AttributeName"))

        east.put_item(TableName="gtable", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
        west.put_item(TableName="gtable", Item={"pk": {"S": "b"}, "n": {"N": "2"}})
        eventually(lambda: "Item" in west.get_item(TableName="gtable", Key={"pk": {"S": "a"}}))
        west.delete_item(TableName="gtable", Key={"pk": {"S": "a"}})
        eventually(lambda: "Item" not in east.get_item(TableName="gtable", Key={"pk": {"S": "a"}})
                   and "Item" in east.get_item(TableName="gtable", Key={"pk": {"S": "b"}}))

        # Each region's stream: every write, local or replicated, once.
        for region in ("us-east-1", "eu-west-1"):
            records = eventually(lambda: (lambda r: r if len(events(r, "a")) == 2 and len(events(r, "b")) == 1 else None)(stream_records(region, "gtable")))
            self.assertEqual(["INSERT", "REMOVE"], events(records, "a"), region)
            self.assertEqual(["INSERT"], events(records, "b"), region)
            insert = [r for r in records if r["dynamodb"]["Keys"]["pk"]["S"] == "b"][0]
            self.assertEqual({"pk": {"S": "b"}, "n": {"N": "2"}}, insert["dynamodb"]["NewImage"])
            self.assertEqual(region, insert["awsRegion"])

        # TTL: the item was last written in us-east-1, which deletes it as the service; eu-west-1 gets a replicated delete.
        east.put_item(TableName="gtable", Item={"pk": {"S": "t"}, "expires": {"N": str(int(time.time()) - 100)}})
        eventually(lambda: "Item" not in east.get_item(TableName="gtable", Key={"pk": {"S": "t"}}), timeout=90)
        east_remove = eventually(lambda: [r for r in stream_records("us-east-1", "gtable") if r["dynamodb"]["Keys"]["pk"]["S"] == "t" and r["eventName"] == "REMOVE"])
        west_remove = eventually(lambda: [r for r in stream_records("eu-west-1", "gtable") if r["dynamodb"]["Keys"]["pk"]["S"] == "t" and r["eventName"] == "REMOVE"])
        self.assertEqual(1, len(east_remove))
        self.assertEqual(1, len(west_remove))
        self.assertEqual({"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}, east_remove[0].get("userIdentity"))
        self.assertNotIn("userIdentity", west_remove[0])


if __name__ == "__main__":
    unittest.main(verbosity=2)
