"""Kinesis resharding through boto3's kinesis client (botocore 1.43): SplitShard, MergeShards, UpdateShardCount and
ListShards' ShardFilter, run by KinesisReshardingTests.cs with DDB_ENDPOINT set and the host's clock adjustable."""
import concurrent.futures
import datetime
import threading
import time
import unittest

from kinesis_test import ACCOUNT, admin, error_of, kinesis, new_stream, read_all

MAX = 2 ** 128 - 1


def shards_of(name, **kwargs):
    return {s["ShardId"]: s for s in kinesis.list_shards(StreamName=name, **kwargs)["Shards"]}


def ids(name, **kwargs):
    return sorted(shards_of(name, **kwargs))


def put(name, data, key="p", hash_key=None):
    args = {"StreamName": name, "Data": data, "PartitionKey": key}
    if hash_key is not None:
        args["ExplicitHashKey"] = str(hash_key)
    return kinesis.put_record(**args)


def read_in_lineage_order(name):
    """Every record of the stream, reading each shard only after its parents, as the KCL does; data per shard."""
    shards = shards_of(name)
    done, order, out = set(), [], {}
    while len(done) < len(shards):
        progressed = False
        for sid, s in sorted(shards.items()):
            parents = [p for p in (s.get("ParentShardId"), s.get("AdjacentParentShardId")) if p and p in shards]
            if sid in done or any(p not in done for p in parents):
                continue
            out[sid] = [r["Data"] for r in read_all(name, sid)]
            done.add(sid)
            order.append(sid)
            progressed = True
        assert progressed, "a shard's parents never became readable"
    return order, out


class SplitAndMerge(unittest.TestCase):
    def test_split_closes_the_parent_and_routes_by_the_new_ranges(self):
        name = new_stream(1)
        before = put(name, b"before", hash_key=5)
        self.assertEqual(before["ShardId"], "shardId-000000000000")
        kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2 ** 127))
        shards = kinesis.describe_stream(StreamName=name)["StreamDescription"]["Shards"]
        self.assertEqual([s["ShardId"] for s in shards], ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"])
        parent, low, high = shards
        self.assertIn("EndingSequenceNumber", parent["SequenceNumberRange"])
        self.assertGreaterEqual(int(parent["SequenceNumberRange"]["EndingSequenceNumber"]), int(before["SequenceNumber"]))
        self.assertEqual(low["ParentShardId"], "shardId-000000000000")
        self.assertEqual(high["ParentShardId"], "shardId-000000000000")
        self.assertNotIn("AdjacentParentShardId", low)
        self.assertEqual(low["HashKeyRange"], {"StartingHashKey": "0", "EndingHashKey": str(2 ** 127 - 1)})
        self.assertEqual(high["HashKeyRange"], {"StartingHashKey": str(2 ** 127), "EndingHashKey": str(MAX)})
        self.assertNotIn("EndingSequenceNumber", low["SequenceNumberRange"])
        self.assertGreater(int(low["SequenceNumberRange"]["StartingSequenceNumber"]), int(before["SequenceNumber"]))

        self.assertEqual(put(name, b"low", hash_key=5)["ShardId"], "shardId-000000000001")
        self.assertEqual(put(name, b"high", hash_key=2 ** 127 + 5)["ShardId"], "shardId-000000000002")
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        self.assertEqual(summary["OpenShardCount"], 2)
        self.assertEqual(summary["StreamStatus"], "ACTIVE")

        # The closed parent keeps its records; at its end there is no next iterator, and the children are named.
        it = kinesis.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        page = kinesis.get_records(ShardIterator=it)
        self.assertEqual([r["Data"] for r in page["Records"]], [b"before"])
        self.assertNotIn("NextShardIterator", page)
        children = {c["ShardId"]: c for c in page["ChildShards"]}
        self.assertEqual(sorted(children), ["shardId-000000000001", "shardId-000000000002"])
        self.assertEqual(children["shardId-000000000002"]["ParentShards"], ["shardId-000000000000"])
        self.assertEqual(children["shardId-000000000002"]["HashKeyRange"]["StartingHashKey"], str(2 ** 127))
        self.assertEqual([r["Data"] for r in read_all(name, "shardId-000000000001")], [b"low"])
        self.assertEqual([r["Data"] for r in read_all(name, "shardId-000000000002")], [b"high"])

    def test_split_errors_are_aws_texts(self):
        name = new_stream(3)
        start, end = 0, MAX // 3 - 1
        self.assertEqual(error_of(kinesis.split_shard, StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey="1"), (
            "InvalidArgumentException",
            f"NewStartingHashKey 1 used in SplitShard() on shard shardId-000000000000 in stream {name} under account {ACCOUNT} "
            f"is not both greater than one plus the shard's StartingHashKey {start} and less than the shard's EndingHashKey {end}."))
        code, message = error_of(kinesis.split_shard, StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(end))
        self.assertEqual(code, "InvalidArgumentException")
        self.assertIn("is not both greater than one plus", message)
        self.assertEqual(error_of(kinesis.split_shard, StreamName=name, ShardToSplit="shardId-5", NewStartingHashKey="2"), (
            "ResourceNotFoundException", f"Could not find shard shardId-000000000005 in stream {name} under account {ACCOUNT}."))
        code, _ = error_of(kinesis.split_shard, StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey="12x")
        self.assertEqual(code, "ValidationException")
        code, _ = error_of(kinesis.split_shard, StreamName="ks-missing-stream", ShardToSplit="shardId-000000000000", NewStartingHashKey="2")
        self.assertEqual(code, "ResourceNotFoundException")
        kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey="2")
        self.assertEqual(error_of(kinesis.split_shard, StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey="3"), (
            "InvalidArgumentException",
            f"Shard shardId-000000000000 in stream {name} under account {ACCOUNT} has already been merged or split, and thus is not eligible for merging or splitting."))
        # the minimum split of the AWS example: children [0, 1] and [2, end]
        low = shards_of(name)["shardId-000000000003"]
        self.assertEqual(low["HashKeyRange"], {"StartingHashKey": "0", "EndingHashKey": "1"})

    def test_merge_makes_one_child_of_two_adjacent_parents(self):
        name = new_stream(3)
        put(name, b"zero", hash_key=1)
        put(name, b"one", hash_key=MAX // 3 + 10)
        self.assertEqual(error_of(kinesis.merge_shards, StreamName=name, ShardToMerge="shardId-000000000000", AdjacentShardToMerge="shardId-000000000002"), (
            "InvalidArgumentException",
            f"Shards shardId-000000000000 and shardId-000000000002 in stream {name} under account {ACCOUNT} are not an adjacent pair of shards eligible for merging"))
        code, _ = error_of(kinesis.merge_shards, StreamName=name, ShardToMerge="shardId-000000000001", AdjacentShardToMerge="shardId-000000000000")
        self.assertEqual(code, "InvalidArgumentException")  # adjacency has a direction
        kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000000", AdjacentShardToMerge="shardId-000000000001")
        shards = shards_of(name)
        merged = shards["shardId-000000000003"]
        self.assertEqual(merged["ParentShardId"], "shardId-000000000000")
        self.assertEqual(merged["AdjacentParentShardId"], "shardId-000000000001")
        self.assertEqual(merged["HashKeyRange"]["StartingHashKey"], "0")
        self.assertEqual(merged["HashKeyRange"]["EndingHashKey"], shards["shardId-000000000001"]["HashKeyRange"]["EndingHashKey"])
        self.assertIn("EndingSequenceNumber", shards["shardId-000000000001"]["SequenceNumberRange"])
        self.assertEqual(put(name, b"merged", hash_key=7)["ShardId"], "shardId-000000000003")
        code, message = error_of(kinesis.merge_shards, StreamName=name, ShardToMerge="shardId-000000000003", AdjacentShardToMerge="shardId-000000000001")
        self.assertEqual(code, "InvalidArgumentException")
        self.assertIn("has already been merged or split", message)
        it = kinesis.get_shard_iterator(StreamName=name, ShardId="shardId-000000000001", ShardIteratorType="LATEST")["ShardIterator"]
        page = kinesis.get_records(ShardIterator=it)
        self.assertEqual(page["ChildShards"][0]["ParentShards"], ["shardId-000000000000", "shardId-000000000001"])
        order, data = read_in_lineage_order(name)
        self.assertLess(order.index("shardId-000000000000"), order.index("shardId-000000000003"))
        self.assertEqual(data["shardId-000000000000"], [b"zero"])
        self.assertEqual(data["shardId-000000000001"], [b"one"])
        self.assertEqual(data["shardId-000000000003"], [b"merged"])

    def test_no_acknowledged_record_is_lost_while_a_split_runs(self):
        name = new_stream(1)
        acked, stop = [], threading.Event()

        def writer(w):
            i = 0
            while not stop.is_set() or i < 30:
                r = put(name, f"w{w}-{i}".encode(), key=f"k{w}-{i}")
                acked.append((r["ShardId"], f"w{w}-{i}".encode()))
                i += 1

        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            futures = [pool.submit(writer, w) for w in range(3)]
            time.sleep(0.5)
            kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2 ** 127))
            time.sleep(0.5)
            stop.set()
            for f in futures:
                f.result()
        _, data = read_in_lineage_order(name)
        stored = [(sid, d) for sid, records in data.items() for d in records]
        self.assertEqual(sorted(stored), sorted(acked))
        self.assertTrue(any(sid != "shardId-000000000000" for sid, _ in acked))


class ShardFilters(unittest.TestCase):
    def test_list_shards_filters_by_open_and_closed_times(self):
        name = new_stream(2)
        created = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamCreationTimestamp"]
        # botocore sends whole seconds: split a minute later, so a timestamp two seconds after creation falls between.
        admin("/admin/clock/advance/60")
        between = created + datetime.timedelta(seconds=2)
        kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000001", NewStartingHashKey=str(MAX - 2 ** 100))
        everything = ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002", "shardId-000000000003"]
        self.assertEqual(ids(name), everything)
        self.assertEqual(ids(name, ShardFilter={"Type": "FROM_TRIM_HORIZON"}), everything)
        self.assertEqual(ids(name, ShardFilter={"Type": "AT_LATEST"}), ["shardId-000000000000", "shardId-000000000002", "shardId-000000000003"])
        self.assertEqual(ids(name, ShardFilter={"Type": "AT_TRIM_HORIZON"}), ["shardId-000000000000", "shardId-000000000001"])
        self.assertEqual(ids(name, ShardFilter={"Type": "AFTER_SHARD_ID", "ShardId": "shardId-000000000001"}), ["shardId-000000000002", "shardId-000000000003"])
        self.assertEqual(ids(name, ShardFilter={"Type": "AT_TIMESTAMP", "Timestamp": between}), ["shardId-000000000000", "shardId-000000000001"])
        self.assertEqual(ids(name, ShardFilter={"Type": "FROM_TIMESTAMP", "Timestamp": between}), everything)
        code, _ = error_of(kinesis.list_shards, StreamName=name, ShardFilter={"Type": "AFTER_SHARD_ID"})
        self.assertEqual(code, "InvalidArgumentException")
        # Paging keeps the filter.
        page = kinesis.list_shards(StreamName=name, MaxResults=1, ShardFilter={"Type": "AT_LATEST"})
        seen = [s["ShardId"] for s in page["Shards"]]
        while "NextToken" in page:
            page = kinesis.list_shards(NextToken=page["NextToken"], MaxResults=1)
            seen += [s["ShardId"] for s in page["Shards"]]
        self.assertEqual(seen, ["shardId-000000000000", "shardId-000000000002", "shardId-000000000003"])


class UpdateShardCount(unittest.TestCase):
    def test_uniform_scaling_up_and_down_keeps_every_record_in_lineage_order(self):
        name = new_stream(2)
        for i in range(20):
            put(name, f"a{i}".encode(), key=f"k{i}")
        r = kinesis.update_shard_count(StreamName=name, TargetShardCount=3, ScalingType="UNIFORM_SCALING")
        self.assertEqual((r["CurrentShardCount"], r["TargetShardCount"], r["StreamName"]), (2, 3, name))
        self.assertTrue(r["StreamARN"].endswith(":stream/" + name))
        size = 2 ** 128 // 3
        latest = shards_of(name, ShardFilter={"Type": "AT_LATEST"})
        ranges = sorted((int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"])) for s in latest.values())
        self.assertEqual(ranges, [(0, size - 1), (size, 2 * size - 1), (2 * size, MAX)])
        for i in range(20):
            put(name, f"b{i}".encode(), key=f"k{i}")
        kinesis.update_shard_count(StreamName=name, TargetShardCount=6, ScalingType="UNIFORM_SCALING")
        kinesis.update_shard_count(StreamName=name, TargetShardCount=3, ScalingType="UNIFORM_SCALING")
        for i in range(20):
            put(name, f"c{i}".encode(), key=f"k{i}")
        self.assertEqual(kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["OpenShardCount"], 3)
        order, data = read_in_lineage_order(name)
        # Every open shard descends from closed parents only, and a reader that follows the lineage sees each key's
        # records in the order they were written.
        by_key = {}
        for sid in order:
            for d in data[sid]:
                by_key.setdefault(d[1:], []).append(d[:1])
        self.assertEqual(len(by_key), 20)
        for key, letters in by_key.items():
            self.assertEqual(letters, [b"a", b"b", b"c"], key)

    def test_limits(self):
        name = new_stream(4)
        code, message = error_of(kinesis.update_shard_count, StreamName=name, TargetShardCount=9, ScalingType="UNIFORM_SCALING")
        self.assertEqual(code, "LimitExceededException")
        self.assertIn("double", message)
        code, message = error_of(kinesis.update_shard_count, StreamName=name, TargetShardCount=1, ScalingType="UNIFORM_SCALING")
        self.assertEqual(code, "LimitExceededException")
        self.assertIn("half", message)
        on_demand = new_stream(None)
        code, _ = error_of(kinesis.update_shard_count, StreamName=on_demand, TargetShardCount=8, ScalingType="UNIFORM_SCALING")
        self.assertEqual(code, "ValidationException")
        for target in (5, 4, 5, 4, 5, 4, 5, 4, 5, 4):
            kinesis.update_shard_count(StreamName=name, TargetShardCount=target, ScalingType="UNIFORM_SCALING")
        code, message = error_of(kinesis.update_shard_count, StreamName=name, TargetShardCount=5, ScalingType="UNIFORM_SCALING")
        self.assertEqual(code, "LimitExceededException")
        self.assertIn("10 times", message)


class Retention(unittest.TestCase):
    def test_a_closed_parent_is_readable_until_retention_trims_it(self):
        name = new_stream(1)
        put(name, b"old", hash_key=1)
        kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2 ** 127))
        admin("/admin/clock/advance/82800")  # 23 hours: still within the 24-hour retention
        self.assertEqual([r["Data"] for r in read_all(name, "shardId-000000000000")], [b"old"])
        admin("/admin/clock/advance/7200")  # past 24 hours
        self.assertEqual(ids(name), ["shardId-000000000001", "shardId-000000000002"])
        code, _ = error_of(kinesis.get_shard_iterator, StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")
        self.assertEqual(code, "ResourceNotFoundException")


if __name__ == "__main__":
    unittest.main(verbosity=2)
