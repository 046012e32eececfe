"""The in-memory change log's size cap, through boto3 (run by StreamsInMemory/InMemoryStreamsTests.cs).

The host runs --in-memory with Engine__InMemoryLogBytes=16 MiB (1 MiB segments). Writing far more than that
must drop the oldest records: the stream's first shard disappears, TRIM_HORIZON starts after the first write,
and the newest records are all still readable.
"""
import unittest
import uuid

from botocore.exceptions import ClientError

# The streams suite's clients and readers (importing it runs none of its tests).
from streams_test import ddb, read_all, read_shard, shards, streams


def keys(records):
    return [r["dynamodb"]["Keys"]["pk"]["S"] for r in records]


class MemoryLogCap(unittest.TestCase):
    def test_oldest_records_leave_past_the_cap(self):
        name = "cap-" + uuid.uuid4().hex
        arn = ddb.create_table(
            TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})["TableDescription"]["LatestStreamArn"]
        ddb.put_item(TableName=name, Item={"pk": {"S": "first"}})
        first_shard = shards(arn)[0]["ShardId"]
        self.assertEqual(["first"], keys(read_shard(arn, first_shard)[0]))

        blob = "x" * 300_000
        count = 100  # ~30 MB of new images: almost twice the cap
        for i in range(count):
            ddb.put_item(TableName=name, Item={"pk": {"S": "k%03d" % i}, "v": {"S": blob}})

        listed = shards(arn)
        ids = [s["ShardId"] for s in listed]
        self.assertNotIn(first_shard, ids)
        self.assertLessEqual(len(listed), 18)  # 16 MiB of 1 MiB segments, plus the open one
        with self.assertRaises(ClientError) as caught:
            streams.get_shard_iterator(StreamArn=arn, ShardId=first_shard, ShardIteratorType="TRIM_HORIZON")
        self.assertEqual("ResourceNotFoundException", caught.exception.response["Error"]["Code"])

        seen = keys(read_all(arn))
        self.assertNotIn("first", seen)
        self.assertIn("k%03d" % (count - 1), seen)
        # What remains is a contiguous tail of the writes, in order.
        tail = ["k%03d" % i for i in range(count - len(seen), count)]
        self.assertEqual(tail, seen)
        self.assertGreater(len(seen), 30)


if __name__ == "__main__":
    unittest.main(verbosity=2)
