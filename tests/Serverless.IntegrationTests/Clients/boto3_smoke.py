"""boto3 smoke test against the local host: run by Boto3Tests.cs with DDB_ENDPOINT set.

boto3 verifies x-amz-crc32 on every response, so any CRC mismatch fails here with a CRC32 error.
"""
import os
import sys
import unittest
import uuid
from decimal import Decimal

import boto3
from botocore.exceptions import ClientError

from ddb_client import client, create_table


class Boto3Smoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ddb = client()
        cls.table = create_table(cls.ddb, "boto_" + uuid.uuid4().hex[:8])

    def test_put_get_update_delete_round_trip(self):
        key = {"pk": {"S": "p1"}, "sk": {"N": "1"}}
        self.ddb.put_item(
            TableName=self.table,
            Item={**key, "s": {"S": "héllo"}, "n": {"N": "01.50"}, "b": {"B": b"\x00\x01"}, "ss": {"SS": ["a", "b"]},
                  "m": {"M": {"l": {"L": [{"BOOL": True}, {"NULL": True}]}}}},
        )
        item = self.ddb.get_item(TableName=self.table, Key=key, ConsistentRead=True)["Item"]
        self.assertEqual(item["s"], {"S": "héllo"})
        self.assertEqual(item["n"], {"N": "1.5"})
        self.assertEqual(item["b"], {"B": b"\x00\x01"})
        self.assertEqual(sorted(item["ss"]["SS"]), ["a", "b"])
        self.assertEqual(item["m"]["M"]["l"]["L"], [{"BOOL": True}, {"NULL": True}])

        out = self.ddb.update_item(
            TableName=self.table, Key=key, UpdateExpression="ADD c :one SET #s = :s",
            ExpressionAttributeNames={"#s": "s"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":s": {"S": "bye"}}, ReturnValues="ALL_NEW",
        )
        self.assertEqual(out["Attributes"]["c"], {"N": "1"})
        self.assertEqual(out["Attributes"]["s"], {"S": "bye"})

        old = self.ddb.delete_item(TableName=self.table, Key=key, ReturnValues="ALL_OLD")["Attributes"]
        self.assertEqual(old["c"], {"N": "1"})
        self.assertNotIn("Item", self.ddb.get_item(TableName=self.table, Key=key))

    def test_failed_condition_raises_conditional_check_failed(self):
        # boto3 1.26 (Debian's) predates ReturnValuesOnConditionCheckFailure; the .NET SDK tests cover it.
        key = {"pk": {"S": "p2"}, "sk": {"N": "2"}}
        self.ddb.put_item(TableName=self.table, Item={**key, "v": {"N": "1"}})
        with self.assertRaises(ClientError) as caught:
            self.ddb.put_item(TableName=self.table, Item=key, ConditionExpression="attribute_not_exists(pk)")
        error = caught.exception.response
        self.assertEqual(error["Error"]["Code"], "ConditionalCheckFailedException")
        self.assertEqual(error["Error"]["Message"], "The conditional request failed")
        self.assertEqual(error["ResponseMetadata"]["HTTPStatusCode"], 400)

    def test_validation_error_has_aws_type_and_message(self):
        with self.assertRaises(ClientError) as caught:
            self.ddb.put_item(TableName=self.table, Item={"pk": {"S": "x"}})
        self.assertEqual(caught.exception.response["Error"]["Code"], "ValidationException")
        self.assertEqual(caught.exception.response["Error"]["Message"],
                         "One or more parameter values were invalid: Missing the key sk in the item")
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)

    def test_resource_layer_numbers_are_decimals(self):
        table = boto3.resource(
            "dynamodb", endpoint_url=os.environ["DDB_ENDPOINT"], region_name="us-east-1",
            aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
        ).Table(self.table)
        table.put_item(Item={"pk": "p3", "sk": 3, "price": Decimal("12.30"), "tags": {"x", "y"}})
        got = table.get_item(Key={"pk": "p3", "sk": 3})["Item"]
        self.assertEqual(got["price"], Decimal("12.3"))
        self.assertEqual(got["tags"], {"x", "y"})

    def test_list_and_describe(self):
        self.assertIn(self.table, self.ddb.list_tables()["TableNames"])
        desc = self.ddb.describe_table(TableName=self.table)["Table"]
        self.assertEqual(desc["TableStatus"], "ACTIVE")
        self.assertEqual(desc["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST")


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
