"""boto3 against a host in Verify mode with policies: run by PolicyBoto3Tests.cs.

DDB_ENDPOINT is the host; ADMIN_KEY/ADMIN_SECRET sign with an allow-all policy, READER_KEY/READER_SECRET with a
read-only one, NOBODY_KEY/NOBODY_SECRET with none, NOBODY_ARN is nobody's principal. Needs botocore with
PutResourcePolicy (1.34.70+).
"""
import json
import os
import unittest
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"


def client(prefix):
    return boto3.client(
        "dynamodb",
        endpoint_url=os.environ["DDB_ENDPOINT"],
        region_name="us-east-1",
        aws_access_key_id=os.environ[prefix + "_KEY"],
        aws_secret_access_key=os.environ[prefix + "_SECRET"],
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=10),
    )


class Policies(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.admin = client("ADMIN")
        cls.reader = client("READER")
        cls.nobody = client("NOBODY")
        cls.table = "pol-boto3-" + uuid.uuid4().hex[:8]
        cls.arn = cls.admin.create_table(
            TableName=cls.table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )["TableDescription"]["TableArn"]
        cls.admin.put_item(TableName=cls.table, Item={"pk": {"S": "k"}, "v": {"S": "value"}})

    def assert_denied(self, call, message):
        with self.assertRaises(ClientError) as caught:
            call()
        error = caught.exception.response["Error"]
        self.assertEqual("AccessDeniedException", error["Code"])
        self.assertEqual(message, error["Message"])
        self.assertEqual(400, caught.exception.response["ResponseMetadata"]["HTTPStatusCode"])

    def test_identity_policy_denial(self):
        self.assertEqual("value", self.reader.get_item(TableName=self.table, Key={"pk": {"S": "k"}})["Item"]["v"]["S"])
        self.assert_denied(
            lambda: self.reader.delete_item(TableName=self.table, Key={"pk": {"S": "k"}}),
            f"User: arn:aws:iam::{ACCOUNT}:user/reader is not authorized to perform: dynamodb:DeleteItem on resource: {self.arn} "
            "because no identity-based policy allows the dynamodb:DeleteItem action",
        )

    def test_resource_policy_grants_and_revisions(self):
        nobody = os.environ["NOBODY_ARN"]
        self.assert_denied(
            lambda: self.nobody.get_item(TableName=self.table, Key={"pk": {"S": "k"}}),
            f"User: {nobody} is not authorized to perform: dynamodb:GetItem on resource: {self.arn} "
            "because no identity-based policy allows the dynamodb:GetItem action",
        )
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": nobody}, "Action": "dynamodb:GetItem", "Resource": self.arn}],
        }
        revision = self.admin.put_resource_policy(ResourceArn=self.arn, Policy=json.dumps(policy, indent=2))["RevisionId"]
        self.assertTrue(revision.isdigit())
        got = self.admin.get_resource_policy(ResourceArn=self.arn)
        self.assertEqual(revision, got["RevisionId"])
        self.assertEqual(policy, json.loads(got["Policy"]))
        self.assertEqual("value", self.nobody.get_item(TableName=self.table, Key={"pk": {"S": "k"}})["Item"]["v"]["S"])

        with self.assertRaises(ClientError) as caught:
            self.admin.delete_resource_policy(ResourceArn=self.arn, ExpectedRevisionId="1")
        self.assertEqual("PolicyNotFoundException", caught.exception.response["Error"]["Code"])
        self.assertEqual(revision, self.admin.delete_resource_policy(ResourceArn=self.arn, ExpectedRevisionId=revision)["RevisionId"])
        with self.assertRaises(ClientError) as caught:
            self.admin.get_resource_policy(ResourceArn=self.arn)
        self.assertEqual("PolicyNotFoundException", caught.exception.response["Error"]["Code"])
        self.assertEqual(f"Resource-based policy not found for the provided ResourceArn: {self.arn}", caught.exception.response["Error"]["Message"])
        self.assert_denied(
            lambda: self.nobody.get_item(TableName=self.table, Key={"pk": {"S": "k"}}),
            f"User: {nobody} is not authorized to perform: dynamodb:GetItem on resource: {self.arn} "
            "because no identity-based policy allows the dynamodb:GetItem action",
        )

    def test_resource_policy_deny_beats_identity_allow(self):
        reader = f"arn:aws:iam::{ACCOUNT}:user/reader"
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Principal": {"AWS": reader}, "Action": "dynamodb:GetItem", "Resource": self.arn}],
        }
        self.admin.put_resource_policy(ResourceArn=self.arn, Policy=json.dumps(policy))
        try:
            self.assert_denied(
                lambda: self.reader.get_item(TableName=self.table, Key={"pk": {"S": "k"}}),
                f"User: {reader} is not authorized to perform: dynamodb:GetItem on resource: {self.arn} "
                "with an explicit deny in a resource-based policy",
            )
        finally:
            self.admin.delete_resource_policy(ResourceArn=self.arn)
        self.reader.get_item(TableName=self.table, Key={"pk": {"S": "k"}})


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    if result.wasSuccessful() and result.testsRun == 3:
        print("OK")
    else:
        raise SystemExit(1)
