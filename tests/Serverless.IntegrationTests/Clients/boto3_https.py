"""boto3 over HTTPS against the local host: run by HttpsTests.cs with DDB_ENDPOINT (https://…) and DDB_CA_BUNDLE set.

The host's certificate is trusted only through verify=DDB_CA_BUNDLE; with the system's CAs the handshake must fail.
"""
import os
import sys
import unittest
import uuid

from botocore.exceptions import SSLError

from ddb_client import client


class Boto3Https(unittest.TestCase):
    def test_round_trip_with_the_host_certificate_trusted(self):
        ddb = client(verify=os.environ["DDB_CA_BUNDLE"])
        table = "tls_" + uuid.uuid4().hex[:8]
        ddb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"S": "over tls"}})
        item = ddb.get_item(TableName=table, Key={"pk": {"S": "a"}}, ConsistentRead=True)["Item"]
        self.assertEqual("over tls", item["v"]["S"])
        self.assertIn(table, ddb.list_tables()["TableNames"])

    def test_untrusted_certificate_is_refused(self):
        with self.assertRaises(SSLError):
            client(verify=True).list_tables()


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    if result.wasSuccessful():
        print("OK")
    sys.exit(0 if result.wasSuccessful() else 1)
