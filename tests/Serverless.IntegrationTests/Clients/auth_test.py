"""Signature verification through boto3, run by Security/Boto3AuthenticationTests.cs against a host in Verify mode.

DDB_ENDPOINT is the host; ALICE_* is a long-term key, BOB_* a temporary one with a session token, both allowed
everything. Each failure must carry DynamoDB's error code, message and HTTP status.
"""
import os
import unittest
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["DDB_ENDPOINT"]
ALICE = (os.environ["ALICE_KEY"], os.environ["ALICE_SECRET"], None)
BOB = (os.environ["BOB_KEY"], os.environ["BOB_SECRET"], os.environ["BOB_TOKEN"])

MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your AWS Secret "
            "Access Key and signing method. Consult the service documentation for details.")
INVALID_TOKEN = "The security token included in the request is invalid."


def make(service, key):
    access_key, secret, token = key
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name="eu-west-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=20),
    )


class Authentication(unittest.TestCase):
    def assert_error(self, call, code, message):
        with self.assertRaises(ClientError) as raised:
            call()
        error = raised.exception.response
        self.assertEqual(code, error["Error"]["Code"])
        self.assertEqual(message, error["Error"]["Message"])
        self.assertEqual(400, error["ResponseMetadata"]["HTTPStatusCode"])

    def test_right_keys_work_for_dynamodb_and_streams(self):
        ddb = make("dynamodb", ALICE)
        name = "auth-" + uuid.uuid4().hex
        arn = ddb.create_table(
            TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})["TableDescription"]["LatestStreamArn"]
        ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"S": "ünïcode"}})
        self.assertEqual("ünïcode", ddb.get_item(TableName=name, Key={"pk": {"S": "a"}})["Item"]["v"]["S"])
        self.assertEqual(1, ddb.query(TableName=name, KeyConditionExpression="pk = :p",
                                      ExpressionAttributeValues={":p": {"S": "a"}})["Count"])
        for key in (ALICE, BOB):
            streams = make("dynamodbstreams", key)
            self.assertEqual(arn, streams.describe_stream(StreamArn=arn)["StreamDescription"]["StreamArn"])
            self.assertIn(name, make("dynamodb", key).list_tables()["TableNames"])

    def test_wrong_secret_is_invalid_signature(self):
        wrong = (ALICE[0], "not-" + ALICE[1], None)
        self.assert_error(make("dynamodb", wrong).list_tables, "InvalidSignatureException", MISMATCH)
        self.assert_error(make("dynamodbstreams", wrong).list_streams, "InvalidSignatureException", MISMATCH)

    def test_unknown_key_is_unrecognized_client(self):
        self.assert_error(make("dynamodb", ("AKIANOBODY000EXAMPLE", "x", None)).list_tables,
                          "UnrecognizedClientException", INVALID_TOKEN)

    def test_session_tokens(self):
        self.assertIn("TableNames", make("dynamodb", BOB).list_tables())
        self.assert_error(make("dynamodb", (BOB[0], BOB[1], None)).list_tables, "UnrecognizedClientException", INVALID_TOKEN)
        self.assert_error(make("dynamodb", (BOB[0], BOB[1], BOB[2] + "x")).list_tables,
                          "UnrecognizedClientException", "The security token included in the request is invalid")
        self.assert_error(make("dynamodb", (ALICE[0], ALICE[1], BOB[2])).list_tables,
                          "UnrecognizedClientException", "The security token included in the request is invalid")


if __name__ == "__main__":
    unittest.main(verbosity=2)
