"""Capacity enforcement through boto3 (the image's botocore 1.43, which knows ThrottlingReasons and
OnDemandThroughput), with retries off and with the standard retries on. Run by CapacityTests.Boto3_RetriesOffAndOn."""
import os
import threading
import time
import unittest
import urllib.request
import uuid

import boto3
from botocore.config import Config

ENDPOINT = os.environ["DDB_ENDPOINT"]
ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/"


def client(**retries):
    return boto3.client("dynamodb", endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id="local",
                        aws_secret_access_key="local", config=Config(retries=retries))


NO_RETRIES = client(total_max_attempts=1, mode="standard")
RETRIES = client(mode="standard")


def advance_clock(seconds):
    urllib.request.urlopen(urllib.request.Request(ENDPOINT + "/admin/clock/advance/%d" % seconds, method="POST", data=b"")).read()


def create(prefix, **extra):
    name = "%s-%s" % (prefix, uuid.uuid4().hex[:8])
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}] + extra.pop("more_attrs", [])
    NO_RETRIES.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], AttributeDefinitions=attrs, **extra)
    return name


def put_until_refused(table, key, extra=None, limit=5000):
    for i in range(limit):
        item = {"pk": {"S": key(i)}}
        item.update(extra or {})
        try:
            NO_RETRIES.put_item(TableName=table, Item=item)
        except NO_RETRIES.exceptions.ClientError as e:
            return i, e
    raise AssertionError("never throttled")


class CapacityTest(unittest.TestCase):
    def test_provisioned_table_throttles_and_bursts(self):
        table = create("bprov", ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
        ok, e = put_until_refused(table, lambda i: "a%d" % i)
        self.assertGreaterEqual(ok, 5)
        self.assertEqual("ProvisionedThroughputExceededException", e.response["Error"]["Code"])
        self.assertEqual([{"reason": "TableWriteProvisionedThroughputExceeded", "resource": ARN + table}], e.response["ThrottlingReasons"])
        advance_clock(60)
        ok, _ = put_until_refused(table, lambda i: "b%d" % i)
        self.assertGreaterEqual(ok, 300)

    def test_gsi_throttles_table_writes(self):
        table = create("bgsi", ProvisionedThroughput={"ReadCapacityUnits": 100, "WriteCapacityUnits": 100},
                       more_attrs=[{"AttributeName": "g", "AttributeType": "S"}],
                       GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                                "Projection": {"ProjectionType": "KEYS_ONLY"},
                                                "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}])
        _, e = put_until_refused(table, lambda i: "k%d" % i, {"g": {"S": "x"}})
        self.assertEqual("IndexWriteProvisionedThroughputExceeded", e.response["ThrottlingReasons"][0]["reason"])
        self.assertEqual(ARN + table + "/index/by-g", e.response["ThrottlingReasons"][0]["resource"])

    def test_on_demand_maximum(self):
        table = create("bod", BillingMode="PAY_PER_REQUEST", OnDemandThroughput={"MaxWriteRequestUnits": 4})
        desc = NO_RETRIES.describe_table(TableName=table)["Table"]
        self.assertEqual({"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": 4}, desc["OnDemandThroughput"])
        self.assertEqual("ACTIVE", desc["WarmThroughput"]["Status"])
        _, e = put_until_refused(table, lambda i: "k%d" % i)
        self.assertEqual("ThrottlingException", e.response["Error"]["Code"])
        self.assertEqual("Throughput exceeds the maximum OnDemandThroughput configured on table or index", e.response["Error"]["Message"])
        self.assertEqual([{"reason": "TableWriteMaxOnDemandThroughputExceeded", "resource": ARN + table}], e.response["throttlingReasons"])
        NO_RETRIES.update_table(TableName=table, OnDemandThroughput={"MaxWriteRequestUnits": -1})
        self.assertEqual(-1, NO_RETRIES.describe_table(TableName=table)["Table"]["OnDemandThroughput"]["MaxWriteRequestUnits"])

    def test_batch_write_unprocessed(self):
        table = create("bbatch", ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
        items = [{"PutRequest": {"Item": {"pk": {"S": "k%d" % i}}}} for i in range(25)]
        r = NO_RETRIES.batch_write_item(RequestItems={table: items})
        self.assertTrue(0 < len(r["UnprocessedItems"][table]) < 25)

    def test_standard_retries_succeed_while_time_passes(self):
        table = create("bretry", ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 1})
        stop = threading.Event()

        def tick():
            while not stop.is_set():
                time.sleep(0.1)
                advance_clock(1)

        t = threading.Thread(target=tick)
        t.start()
        try:
            for i in range(12):
                RETRIES.put_item(TableName=table, Item={"pk": {"S": "r%d" % i}})
        finally:
            stop.set()
            t.join()
        self.assertEqual(12, NO_RETRIES.scan(TableName=table, Select="COUNT", ConsistentRead=True)["Count"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
