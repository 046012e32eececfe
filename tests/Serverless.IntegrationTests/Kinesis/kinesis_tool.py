"""Kinesis and DynamoDB Streams through boto3 for KinesisDestinationTests.cs: one command from KTOOL_CMD.

  create NAME SHARDS HOURS   create a stream, wait until it is ACTIVE, set its retention
  put NAME COUNT             put COUNT records (data "r<i>", partition key "k<i>"), print each acknowledged one
  putpar NAME THREADS COUNT  the same from THREADS threads at once (data "t<t>-r<i>"), COUNT records each
  dump NAME                  print every record of every shard from TRIM_HORIZON, one JSON line each
  ddbstream ARN              print the number of records the DynamoDB stream ARN still returns from TRIM_HORIZON
"""
import base64
import json
import os
import sys
import time

import boto3
from botocore.config import Config

ENDPOINT = os.environ["DDB_ENDPOINT"]
config = Config(retries={"max_attempts": 8, "mode": "standard"}, connect_timeout=5, read_timeout=30)
kinesis = boto3.client("kinesis", endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
                       aws_secret_access_key="secret", config=config)
args = os.environ["KTOOL_CMD"].split()
command = args[0]

if command == "create":
    name, shards, hours = args[1], int(args[2]), int(args[3])
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    if hours > 24:
        kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=hours)
    print("ARN " + kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"])
elif command == "put":
    name, count = args[1], int(args[2])
    for i in range(count):
        r = kinesis.put_record(StreamName=name, Data=f"r{i}".encode(), PartitionKey=f"k{i}")
        print("ACK " + r["SequenceNumber"], flush=True)
elif command == "putpar":
    import threading
    name, threads, count = args[1], int(args[2]), int(args[3])
    lock = threading.Lock()

    def put_all(t):
        client = boto3.client("kinesis", endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
                              aws_secret_access_key="secret", config=config)
        for i in range(count):
            r = client.put_record(StreamName=name, Data=f"t{t}-r{i}".encode(), PartitionKey=f"t{t}-k{i}")
            with lock:
                print("ACK " + r["SequenceNumber"], flush=True)

    workers = [threading.Thread(target=put_all, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
elif command == "dump":
    name = args[1]
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while True:
            time.sleep(0.21)  # five GetRecords per second per shard
            page = kinesis.get_records(ShardIterator=it, Limit=10000)
            for r in page["Records"]:
                print("REC " + json.dumps({"shard": shard["ShardId"], "seq": r["SequenceNumber"], "pk": r["PartitionKey"],
                                           "data": base64.b64encode(r["Data"]).decode()}))
            it = page.get("NextShardIterator")  # absent at the end of a closed shard
            if not page["Records"] or it is None:
                break
    print("END")
elif command == "ddbstream":
    streams = boto3.client("dynamodbstreams", endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
                           aws_secret_access_key="secret", config=config)
    count = 0
    for shard in streams.describe_stream(StreamArn=args[1])["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=args[1], ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        for _ in range(50):
            if not it:
                break
            page = streams.get_records(ShardIterator=it)
            count += len(page["Records"])
            it = page.get("NextShardIterator")
            if not page["Records"]:
                break
    print(f"DDBSTREAM {count}")
else:
    sys.exit("unknown command " + command)
