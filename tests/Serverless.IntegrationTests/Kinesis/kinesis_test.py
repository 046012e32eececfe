"""Kinesis Data Streams through boto3's kinesis client (botocore 1.43), run by KinesisTests.cs with DDB_ENDPOINT set.

The host runs with LocalHost__ClockControl=true (POST /admin/clock/advance/{seconds}) so iterator expiry and
retention can be provoked without waiting.
"""
import base64
import concurrent.futures
import datetime
import hashlib
import os
import time
import unittest
import urllib.request
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["DDB_ENDPOINT"]
ACCOUNT = "000000000000"
kinesis = boto3.client(
    "kinesis", endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
    aws_secret_access_key="secret", config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30))


def admin(path):
    request = urllib.request.Request(ENDPOINT + path, data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def new_stream(shards=1, **kwargs):
    name = "ks-" + uuid.uuid4().hex[:12]
    if shards is None:
        kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"}, **kwargs)
    else:
        kinesis.create_stream(StreamName=name, ShardCount=shards, **kwargs)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    return name


def error_of(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"]
    raise AssertionError("no error from " + call.__name__)


def read_all(name, shard_id, iterator_type="TRIM_HORIZON", **kwargs):
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard_id, ShardIteratorType=iterator_type, **kwargs)["ShardIterator"]
    records = []
    while True:
        time.sleep(0.21)  # five GetRecords per second per shard
        page = kinesis.get_records(ShardIterator=it, Limit=1000)
        records.extend(page["Records"])
        it = page.get("NextShardIterator")  # absent at the end of a closed shard
        if not page["Records"] or it is None:
            return records


class StreamLifecycle(unittest.TestCase):
    def test_create_describe_list_delete(self):
        name = new_stream(shards=3, Tags={"team": "data"})
        d = kinesis.describe_stream(StreamName=name)["StreamDescription"]
        self.assertEqual(d["StreamARN"], f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{name}")
        self.assertEqual(d["StreamStatus"], "ACTIVE")
        self.assertEqual(d["StreamModeDetails"]["StreamMode"], "PROVISIONED")
        self.assertEqual(d["RetentionPeriodHours"], 24)
        self.assertEqual([s["ShardId"] for s in d["Shards"]], ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"])
        self.assertEqual(d["Shards"][0]["HashKeyRange"]["StartingHashKey"], "0")
        self.assertEqual(d["Shards"][-1]["HashKeyRange"]["EndingHashKey"], str(2 ** 128 - 1))
        for a, b in zip(d["Shards"], d["Shards"][1:]):
            self.assertEqual(int(a["HashKeyRange"]["EndingHashKey"]) + 1, int(b["HashKeyRange"]["StartingHashKey"]))
        self.assertIsInstance(d["StreamCreationTimestamp"], datetime.datetime)

        summary = kinesis.describe_stream_summary(StreamARN=d["StreamARN"])["StreamDescriptionSummary"]
        self.assertEqual(summary["OpenShardCount"], 3)
        self.assertEqual(summary["StreamName"], name)

        page = kinesis.describe_stream(StreamName=name, Limit=2)["StreamDescription"]
        self.assertTrue(page["HasMoreShards"])
        self.assertEqual(len(page["Shards"]), 2)
        rest = kinesis.describe_stream(StreamName=name, ExclusiveStartShardId="shardId-000000000001")["StreamDescription"]
        self.assertEqual([s["ShardId"] for s in rest["Shards"]], ["shardId-000000000002"])

        shards = kinesis.list_shards(StreamName=name, MaxResults=2)
        self.assertEqual(len(shards["Shards"]), 2)
        more = kinesis.list_shards(NextToken=shards["NextToken"])
        self.assertEqual([s["ShardId"] for s in more["Shards"]], ["shardId-000000000002"])
        self.assertNotIn("NextToken", more)

        self.assertIn(name, kinesis.list_streams()["StreamNames"])
        summaries = kinesis.list_streams(Limit=10000)["StreamSummaries"]
        self.assertIn(d["StreamARN"], [s["StreamARN"] for s in summaries])

        code, message = error_of(kinesis.create_stream, StreamName=name, ShardCount=1)
        self.assertEqual(code, "ResourceInUseException")
        self.assertEqual(message, f"Stream {name} under account {ACCOUNT} already exists.")

        self.assertEqual(kinesis.list_tags_for_stream(StreamName=name)["Tags"], [{"Key": "team", "Value": "data"}])
        kinesis.add_tags_to_stream(StreamARN=d["StreamARN"], Tags={"env": "test"})
        tags = kinesis.list_tags_for_stream(StreamName=name)
        self.assertEqual(tags["Tags"], [{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "data"}])
        self.assertFalse(tags["HasMoreTags"])

        kinesis.delete_stream(StreamARN=d["StreamARN"])
        code, message = error_of(kinesis.describe_stream, StreamName=name)
        self.assertEqual(code, "ResourceNotFoundException")
        self.assertEqual(message, f"Stream {name} under account {ACCOUNT} not found.")
        self.assertNotIn(name, kinesis.list_streams(Limit=10000)["StreamNames"])

    def test_on_demand(self):
        name = new_stream(shards=None)
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        self.assertEqual(summary["StreamModeDetails"]["StreamMode"], "ON_DEMAND")
        self.assertEqual(summary["OpenShardCount"], 4)

    def test_retention_bounds(self):
        name = new_stream()
        kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=8760)
        self.assertEqual(kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["RetentionPeriodHours"], 8760)
        code, message = error_of(kinesis.increase_stream_retention_period, StreamName=name, RetentionPeriodHours=8761)
        self.assertEqual((code, message), ("InvalidArgumentException",
                                           "Maximum allowed retention period is 8760 hours. Requested retention period (8761 hours) is too long."))
        code, message = error_of(kinesis.increase_stream_retention_period, StreamName=name, RetentionPeriodHours=100)
        self.assertEqual(code, "InvalidArgumentException")
        self.assertIn("can not be shorter than existing retention period (8760 hours)", message)
        kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
        self.assertEqual(kinesis.describe_stream(StreamName=name)["StreamDescription"]["RetentionPeriodHours"], 48)
        code, message = error_of(kinesis.decrease_stream_retention_period, StreamName=name, RetentionPeriodHours=23)
        self.assertEqual((code, message), ("InvalidArgumentException",
                                           "Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short."))
        code, _ = error_of(kinesis.decrease_stream_retention_period, StreamName=name, RetentionPeriodHours=72)
        self.assertEqual(code, "InvalidArgumentException")

    def test_errors_of_unknown_things(self):
        code, message = error_of(kinesis.put_record, StreamName="no-such-stream", Data=b"x", PartitionKey="p")
        self.assertEqual((code, message), ("ResourceNotFoundException", f"Stream no-such-stream under account {ACCOUNT} not found."))
        name = new_stream()
        code, message = error_of(kinesis.get_shard_iterator, StreamName=name, ShardId="shardId-000000000007", ShardIteratorType="LATEST")
        self.assertEqual((code, message), ("ResourceNotFoundException",
                                           f"Shard shardId-000000000007 in stream {name} under account {ACCOUNT} does not exist"))
        code, _ = error_of(kinesis.get_records, ShardIterator="bm90LWFuLWl0ZXJhdG9y")
        self.assertEqual(code, "InvalidArgumentException")
        code, _ = error_of(kinesis.create_stream, StreamName="bad name!", ShardCount=1)
        self.assertEqual(code, "ValidationException")


class Records(unittest.TestCase):
    def test_put_and_read_with_every_iterator_type(self):
        name = new_stream(shards=2)
        sent = []
        for i in range(20):
            r = kinesis.put_record(StreamName=name, Data=f"record-{i}".encode(), PartitionKey=f"key-{i % 5}")
            sent.append((r["ShardId"], r["SequenceNumber"], f"record-{i}", f"key-{i % 5}"))
        # Each partition key's MD5 picks its shard: below 2^127 is shard 0.
        for shard_id, _, _, key in sent:
            expected = "shardId-000000000000" if int(hashlib.md5(key.encode()).hexdigest(), 16) < 2 ** 127 else "shardId-000000000001"
            self.assertEqual(shard_id, expected)

        for shard_id in ("shardId-000000000000", "shardId-000000000001"):
            mine = [s for s in sent if s[0] == shard_id]
            got = read_all(name, shard_id)
            self.assertEqual([r["Data"].decode() for r in got], [m[2] for m in mine])
            self.assertEqual([r["SequenceNumber"] for r in got], [m[1] for m in mine])
            self.assertEqual(sorted(int(r["SequenceNumber"]) for r in got), [int(r["SequenceNumber"]) for r in got])
            if len(mine) < 3:
                continue
            at = read_all(name, shard_id, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=mine[1][1])
            self.assertEqual([r["SequenceNumber"] for r in at], [m[1] for m in mine[1:]])
            after = read_all(name, shard_id, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=mine[1][1])
            self.assertEqual([r["SequenceNumber"] for r in after], [m[1] for m in mine[2:]])
            # botocore sends AT_TIMESTAMP's Timestamp in whole seconds.
            stamp = got[2]["ApproximateArrivalTimestamp"].replace(microsecond=0)
            by_time = read_all(name, shard_id, "AT_TIMESTAMP", Timestamp=stamp)
            self.assertTrue(all(r["ApproximateArrivalTimestamp"] >= stamp for r in by_time))
            self.assertEqual(by_time[-1]["SequenceNumber"], mine[-1][1])

        latest = kinesis.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="LATEST")["ShardIterator"]
        self.assertEqual(kinesis.get_records(ShardIterator=latest)["Records"], [])
        r = kinesis.put_record(StreamName=name, Data=b"late", PartitionKey="p", ExplicitHashKey="0")
        self.assertEqual(r["ShardId"], "shardId-000000000000")
        time.sleep(0.25)
        page = kinesis.get_records(ShardIterator=latest)
        self.assertEqual([x["Data"] for x in page["Records"]], [b"late"])
        self.assertEqual(page["MillisBehindLatest"], 0)

        code, message = error_of(kinesis.get_shard_iterator, StreamName=name, ShardId="shardId-000000000001",
                                 ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber=r["SequenceNumber"])
        self.assertEqual(code, "InvalidArgumentException")
        self.assertIn("It encodes shardId-000000000000", message)
        code, _ = error_of(kinesis.get_shard_iterator, StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="AT_SEQUENCE_NUMBER")
        self.assertEqual(code, "InvalidArgumentException")

    def test_put_records_and_stream_arn_addressing(self):
        name = new_stream(shards=4)
        arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
        result = kinesis.put_records(StreamARN=arn, Records=[{"Data": bytes([i]) * 10, "PartitionKey": str(i)} for i in range(100)])
        self.assertEqual(result["FailedRecordCount"], 0)
        self.assertEqual(len(result["Records"]), 100)
        total = 0
        for shard in kinesis.list_shards(StreamARN=arn)["Shards"]:
            total += len(read_all(name, shard["ShardId"]))
        self.assertEqual(total, 100)

    def test_iterator_expires_after_five_minutes(self):
        name = new_stream()
        kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="p")
        it = kinesis.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        admin("/admin/clock/advance/301")
        code, message = error_of(kinesis.get_records, ShardIterator=it)
        self.assertEqual(code, "ExpiredIteratorException")
        self.assertIn("which is further in the future than the tolerated delay of 300000 milliseconds.", message)

    def test_write_limits_per_shard(self):
        name = new_stream()
        # 1,000 records per second per shard: two full PutRecords fill the second; the next record fails, and a
        # second boundary between the calls lets the attempt repeat.
        for attempt in range(5):
            first = kinesis.put_records(StreamName=name, Records=[{"Data": b"a", "PartitionKey": "p"}] * 500)
            second = kinesis.put_records(StreamName=name, Records=[{"Data": b"a", "PartitionKey": "p"}] * 500)
            third = kinesis.put_records(StreamName=name, Records=[{"Data": b"a", "PartitionKey": "p"}] * 10)
            if third["FailedRecordCount"] > 0 and first["FailedRecordCount"] == 0 and second["FailedRecordCount"] == 0:
                failure = [r for r in third["Records"] if "ErrorCode" in r][0]
                self.assertEqual(failure["ErrorCode"], "ProvisionedThroughputExceededException")
                self.assertEqual(failure["ErrorMessage"], f"Rate exceeded for shard shardId-000000000000 in stream {name} under account {ACCOUNT}.")
                break
            time.sleep(1)
        else:
            self.fail("1,000 records per second never throttled")

        # 1 MiB per second per shard: two 600 KB records in one second cannot both pass.
        for attempt in range(5):
            time.sleep(1)
            big = kinesis.put_records(StreamName=name, Records=[{"Data": b"b" * 600_000, "PartitionKey": "p"}] * 2)
            if big["FailedRecordCount"] == 1:
                self.assertEqual(big["Records"][1]["ErrorCode"], "ProvisionedThroughputExceededException")
                break
        else:
            self.fail("1 MiB per second never throttled in PutRecords")
        def put_big(_):
            try:
                kinesis.put_record(StreamName=name, Data=b"c" * 400_000, PartitionKey="p")
                return None
            except ClientError as e:
                return (e.response["Error"]["Code"], e.response["Error"]["Message"])

        for attempt in range(5):
            time.sleep(1)
            with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
                errors = [e for e in pool.map(put_big, range(4)) if e]
            if errors:
                self.assertEqual(errors[0], ("ProvisionedThroughputExceededException",
                                             f"Rate exceeded for shard shardId-000000000000 in stream {name} under account {ACCOUNT}."))
                break
        else:
            self.fail("1 MiB per second never throttled in PutRecord")

        # Five GetRecords calls per second per shard. The shared client retries once, and a retry that backs off into
        # the next second succeeds, so these calls go through a client that makes exactly one attempt. They go
        # twelve at once, in up to five rounds: sequential calls on a loaded machine can take longer than 200 ms each.
        once = boto3.client(
            "kinesis", endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="secret", config=Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=5, read_timeout=30,
                                                          max_pool_connections=12))
        it = once.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="LATEST")["ShardIterator"]

        def get_once(_):
            try:
                once.get_records(ShardIterator=it, Limit=1)
                return None
            except ClientError as e:
                return (e.response["Error"]["Code"], e.response["Error"]["Message"])

        messages = []
        for attempt in range(5):
            time.sleep(1)
            with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
                messages = [e for e in pool.map(get_once, range(12)) if e]
            if messages:
                break
        self.assertIn(("ProvisionedThroughputExceededException",
                       f"Rate exceeded for Shard - shardId-000000000000 in stream {name} under account {ACCOUNT}."), messages)
        self.assertEqual({m[0] for m in messages}, {"ProvisionedThroughputExceededException"})

    def test_validation_of_records(self):
        name = new_stream()
        code, _ = error_of(kinesis.put_record, StreamName=name, Data=b"x" * (1024 * 1024 + 1), PartitionKey="p")
        self.assertEqual(code, "ValidationException")
        code, _ = error_of(kinesis.put_record, StreamName=name, Data=b"x", PartitionKey="p" * 257)
        self.assertEqual(code, "ValidationException")
        code, _ = error_of(kinesis.put_record, StreamName=name, Data=b"x", PartitionKey="p", ExplicitHashKey=str(2 ** 128))
        self.assertEqual(code, "InvalidArgumentException")


if __name__ == "__main__":
    unittest.main(verbosity=2)
