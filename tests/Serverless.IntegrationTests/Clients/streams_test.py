"""DynamoDB Streams through boto3's dynamodbstreams client, run by StreamsTests.cs with DDB_ENDPOINT set.

The host runs with LocalHost__ClockControl=true (POST /admin/clock/advance/{seconds}) and 1 MiB change-log
segments, so shard roll-over, iterator expiry and trimming can be provoked.
"""
import os
import time
import unittest
import urllib.request
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["DDB_ENDPOINT"]


def make(service):
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=20),
    )


def admin(path):
    request = urllib.request.Request(ENDPOINT + path, data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


ddb = make("dynamodb")
streams = make("dynamodbstreams")


def create_table(view_type, range_key=False):
    name = "st-" + uuid.uuid4().hex
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key:
        keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attrs.append({"AttributeName": "sk", "AttributeType": "N"})
    description = ddb.create_table(
        TableName=name, KeySchema=keys, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view_type})["TableDescription"]
    return name, description["LatestStreamArn"]


def shards(arn):
    result, start = [], None
    while True:
        kwargs = {"StreamArn": arn, "Limit": 100}
        if start:
            kwargs["ExclusiveStartShardId"] = start
        description = streams.describe_stream(**kwargs)["StreamDescription"]
        result.extend(description["Shards"])
        start = description.get("LastEvaluatedShardId")
        if not start:
            return result


def read_shard(arn, shard_id, iterator_type="TRIM_HORIZON", limit=None, **kwargs):
    """Reads a shard from the given position until a closed shard is drained or an open one has nothing more."""
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType=iterator_type, **kwargs)["ShardIterator"]
    records = []
    for _ in range(500):
        page = streams.get_records(ShardIterator=iterator, **({"Limit": limit} if limit else {}))
        records.extend(page["Records"])
        iterator = page.get("NextShardIterator")
        if iterator is None or not page["Records"]:
            break
    return records, iterator


def read_all(arn):
    result = []
    for shard in shards(arn):
        result.extend(read_shard(arn, shard["ShardId"])[0])
    return result


class Streams(unittest.TestCase):
    def test_every_view_type_and_event_shapes(self):
        for view_type in ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]:
            name, arn = create_table(view_type)
            ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
            ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})  # no change, no record
            ddb.update_item(TableName=name, Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"N": "2"}})
            ddb.delete_item(TableName=name, Key={"pk": {"S": "a"}})
            ddb.delete_item(TableName=name, Key={"pk": {"S": "absent"}})  # nothing deleted, no record
            records = read_all(arn)
            self.assertEqual(["INSERT", "MODIFY", "REMOVE"], [r["eventName"] for r in records], view_type)
            sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
            self.assertEqual(sorted(sequence), sequence)
            for r in records:
                self.assertEqual("aws:dynamodb", r["eventSource"])
                self.assertEqual("1.1", r["eventVersion"])
                self.assertEqual("us-east-1", r["awsRegion"])
                self.assertEqual(32, len(r["eventID"]))
                self.assertEqual({"pk": {"S": "a"}}, r["dynamodb"]["Keys"])
                self.assertEqual(view_type, r["dynamodb"]["StreamViewType"])
                self.assertGreater(r["dynamodb"]["SizeBytes"], 0)
                self.assertNotIn("userIdentity", r)
            new = [r["dynamodb"].get("NewImage") for r in records]
            old = [r["dynamodb"].get("OldImage") for r in records]
            if view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
                self.assertEqual([{"pk": {"S": "a"}, "v": {"N": "1"}}, {"pk": {"S": "a"}, "v": {"N": "2"}}, None], new)
            else:
                self.assertEqual([None, None, None], new)
            if view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
                self.assertEqual([None, {"pk": {"S": "a"}, "v": {"N": "1"}}, {"pk": {"S": "a"}, "v": {"N": "2"}}], old)
            else:
                self.assertEqual([None, None, None], old)
            described = ddb.describe_table(TableName=name)["Table"]
            self.assertEqual({"StreamEnabled": True, "StreamViewType": view_type}, described["StreamSpecification"])
            self.assertEqual(arn, described["LatestStreamArn"])

    def test_iterator_types_and_paging(self):
        name, arn = create_table("NEW_IMAGE", range_key=True)
        for i in range(25):
            ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"N": str(i)}})
        shard = shards(arn)[-1]["ShardId"]
        paged, _ = read_shard(arn, shard, limit=4)
        self.assertEqual([str(i) for i in range(25)], [r["dynamodb"]["Keys"]["sk"]["N"] for r in paged])
        third = paged[2]["dynamodb"]["SequenceNumber"]
        at, _ = read_shard(arn, shard, "AT_SEQUENCE_NUMBER", SequenceNumber=third)
        self.assertEqual([str(i) for i in range(2, 25)], [r["dynamodb"]["Keys"]["sk"]["N"] for r in at])
        after, _ = read_shard(arn, shard, "AFTER_SEQUENCE_NUMBER", SequenceNumber=third)
        self.assertEqual([str(i) for i in range(3, 25)], [r["dynamodb"]["Keys"]["sk"]["N"] for r in after])
        latest = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
        self.assertEqual([], streams.get_records(ShardIterator=latest)["Records"])
        ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"N": "99"}})
        got = streams.get_records(ShardIterator=latest)
        self.assertEqual(["99"], [r["dynamodb"]["Keys"]["sk"]["N"] for r in got["Records"]])
        self.assertIn("NextShardIterator", got)
        with self.assertRaises(ClientError) as e:
            streams.get_records(ShardIterator=latest, Limit=1001)
        self.assertEqual("ValidationException", e.exception.response["Error"]["Code"])
        with self.assertRaises(ClientError) as e:
            streams.describe_stream(StreamArn=arn + "x")
        self.assertEqual("ResourceNotFoundException", e.exception.response["Error"]["Code"])
        listed = streams.list_streams(TableName=name)["Streams"]
        self.assertEqual([arn], [s["StreamArn"] for s in listed])

    def test_shard_rollover(self):
        name, arn = create_table("KEYS_ONLY")
        big = "x" * 40000
        for i in range(40):  # 1.6 MB of change log: past one 1 MiB segment
            ddb.put_item(TableName=name, Item={"pk": {"S": "k%02d" % i}, "pad": {"S": big}})
        found = shards(arn)
        self.assertGreaterEqual(len(found), 2)
        self.assertIn("EndingSequenceNumber", found[0]["SequenceNumberRange"])
        self.assertNotIn("EndingSequenceNumber", found[-1]["SequenceNumberRange"])
        self.assertEqual(found[0]["ShardId"], found[1]["ParentShardId"])
        closed, next_iterator = read_shard(arn, found[0]["ShardId"])
        self.assertIsNone(next_iterator)  # a drained closed shard has no next iterator
        keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_all(arn)]
        self.assertEqual(["k%02d" % i for i in range(40)], keys)
        self.assertGreater(len(closed), 0)

    def test_disable_and_reenable_starts_a_new_stream(self):
        name, first = create_table("NEW_IMAGE")
        ddb.put_item(TableName=name, Item={"pk": {"S": "one"}})
        ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
        with self.assertRaises(ClientError) as e:
            ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
        self.assertEqual("Table has no stream to disable: TableName: " + name, e.exception.response["Error"]["Message"])
        ddb.put_item(TableName=name, Item={"pk": {"S": "unseen"}})
        time.sleep(0.01)
        second = ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})["TableDescription"]["LatestStreamArn"]
        self.assertNotEqual(first, second)
        with self.assertRaises(ClientError) as e:
            ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        self.assertEqual("Table already has an enabled stream: TableName: " + name, e.exception.response["Error"]["Message"])
        ddb.put_item(TableName=name, Item={"pk": {"S": "two"}})
        self.assertEqual("DISABLED", streams.describe_stream(StreamArn=first)["StreamDescription"]["StreamStatus"])
        self.assertEqual("ENABLED", streams.describe_stream(StreamArn=second)["StreamDescription"]["StreamStatus"])
        self.assertEqual(["one"], [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_all(first)])
        self.assertEqual(["two"], [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_all(second)])
        self.assertEqual([first, second], [s["StreamArn"] for s in streams.list_streams(TableName=name)["Streams"]])

    def test_ttl_deletes_appear_as_service_removes(self):
        name, arn = create_table("NEW_AND_OLD_IMAGES")
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
        ddb.put_item(TableName=name, Item={"pk": {"S": "gone"}, "exp": {"N": str(int(time.time()) - 10)}})
        deadline = time.time() + 20
        while "Item" in ddb.get_item(TableName=name, Key={"pk": {"S": "gone"}}) and time.time() < deadline:
            self.assertEqual(202, admin("/admin/functions/TtlSweep"))
            time.sleep(0.2)
        records = read_all(arn)
        self.assertEqual(["INSERT", "REMOVE"], [r["eventName"] for r in records])
        self.assertEqual({"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}, records[1]["userIdentity"])
        self.assertNotIn("userIdentity", records[0])

    def test_transaction_items_are_separate_records(self):
        name, arn = create_table("NEW_IMAGE")
        other, _ = create_table("KEYS_ONLY")
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": name, "Item": {"pk": {"S": "t1"}}}},
            {"Put": {"TableName": other, "Item": {"pk": {"S": "elsewhere"}}}},
            {"Put": {"TableName": name, "Item": {"pk": {"S": "t2"}}}},
            {"Put": {"TableName": name, "Item": {"pk": {"S": "t3"}}}},
        ])
        ddb.put_item(TableName=name, Item={"pk": {"S": "after"}})
        shard = shards(arn)[-1]["ShardId"]
        paged, _ = read_shard(arn, shard, limit=1)  # paging stops inside the transaction's log record
        self.assertEqual(["t1", "t2", "t3", "after"], [r["dynamodb"]["Keys"]["pk"]["S"] for r in paged])
        numbers = [r["dynamodb"]["SequenceNumber"] for r in paged]
        self.assertEqual(len(set(numbers)), 4)
        self.assertEqual(sorted(numbers, key=int), numbers)
        after, _ = read_shard(arn, shard, "AFTER_SEQUENCE_NUMBER", SequenceNumber=numbers[1])
        self.assertEqual(["t3", "after"], [r["dynamodb"]["Keys"]["pk"]["S"] for r in after])

    def test_zz_iterator_expiry_and_trimming_with_the_clock(self):
        # Runs last (unittest orders by name): it moves the host's clock a day forward.
        name, arn = create_table("KEYS_ONLY")
        ddb.put_item(TableName=name, Item={"pk": {"S": "old"}})
        shard = shards(arn)[-1]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        first = streams.get_records(ShardIterator=iterator)["Records"][0]["dynamodb"]["SequenceNumber"]
        admin("/admin/clock/advance/960")  # 16 minutes: iterators last 15
        with self.assertRaises(ClientError) as e:
            streams.get_records(ShardIterator=iterator)
        self.assertEqual("ExpiredIteratorException", e.exception.response["Error"]["Code"])
        admin("/admin/clock/advance/90000")  # past 24 hours: the record is trimmed
        ddb.put_item(TableName=name, Item={"pk": {"S": "new"}})
        with self.assertRaises(ClientError) as e:
            streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=first)
        self.assertEqual("TrimmedDataAccessException", e.exception.response["Error"]["Code"])
        remaining, _ = read_shard(arn, shard)
        self.assertEqual(["new"], [r["dynamodb"]["Keys"]["pk"]["S"] for r in remaining])


if __name__ == "__main__":
    unittest.main(verbosity=2)
