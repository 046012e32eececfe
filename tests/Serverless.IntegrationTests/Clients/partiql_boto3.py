"""PartiQL through boto3 against the local host: run by Boto3Tests.cs with DDB_ENDPOINT set.

Covers each statement kind through execute_statement, batch_execute_statement and execute_transaction, with the
error types and messages boto3 surfaces.
"""
import sys
import unittest
import uuid

from botocore.exceptions import ClientError

from ddb_client import client, create_table


class PartiQLBoto3(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ddb = client()
        cls.table = create_table(cls.ddb, "pq_boto_" + uuid.uuid4().hex[:8])

    def run_statement(self, statement, parameters=None, **kwargs):
        if parameters is not None:
            kwargs["Parameters"] = parameters
        return self.ddb.execute_statement(Statement=statement, **kwargs)

    def test_insert_select_update_delete(self):
        t = self.table
        self.run_statement(f"INSERT INTO \"{t}\" VALUE {{'pk': ?, 'sk': ?, 'name': 'alpha', 'tags': <<'a'>>}}", [{"S": "crud"}, {"N": "1"}])
        items = self.run_statement(f"SELECT * FROM \"{t}\" WHERE pk = 'crud' AND sk = 1")["Items"]
        self.assertEqual(items[0]["name"], {"S": "alpha"})

        out = self.run_statement(f"UPDATE \"{t}\" SET name = 'beta' SET tags = set_add(tags, <<'b'>>) WHERE pk = 'crud' AND sk = 1 RETURNING ALL NEW *")
        self.assertEqual(out["Items"][0]["name"], {"S": "beta"})
        self.assertEqual(sorted(out["Items"][0]["tags"]["SS"]), ["a", "b"])

        with self.assertRaises(ClientError) as e:
            self.run_statement(f"INSERT INTO \"{t}\" VALUE {{'pk': 'crud', 'sk': 1}}")
        self.assertEqual(e.exception.response["Error"]["Code"], "DuplicateItemException")
        self.assertEqual(e.exception.response["Error"]["Message"], "Duplicate primary key exists in table")

        with self.assertRaises(ClientError) as e:
            self.run_statement(f"UPDATE \"{t}\" SET name = 'x' WHERE pk = 'crud' AND sk = 1 AND name = 'nope'")
        self.assertEqual(e.exception.response["Error"]["Code"], "ConditionalCheckFailedException")

        deleted = self.run_statement(f"DELETE FROM \"{t}\" WHERE pk = 'crud' AND sk = 1 RETURNING ALL OLD *")["Items"]
        self.assertEqual(deleted[0]["name"], {"S": "beta"})
        self.assertEqual(self.run_statement(f"SELECT * FROM \"{t}\" WHERE pk = 'crud'")["Items"], [])

    def test_paging_with_next_token(self):
        t = self.table
        for i in range(7):
            self.ddb.put_item(TableName=t, Item={"pk": {"S": "page"}, "sk": {"N": str(i)}})
        seen, token = [], None
        while True:
            kwargs = {"Limit": 3}
            if token:
                kwargs["NextToken"] = token
            page = self.run_statement(f"SELECT sk FROM \"{t}\" WHERE pk = 'page' ORDER BY sk DESC", **kwargs)
            seen += [int(i["sk"]["N"]) for i in page["Items"]]
            token = page.get("NextToken")
            if not token:
                break
        self.assertEqual(seen, [6, 5, 4, 3, 2, 1, 0])

    def test_batch_and_transaction(self):
        t = self.table
        batch = self.ddb.batch_execute_statement(Statements=[
            {"Statement": f"INSERT INTO \"{t}\" VALUE {{'pk': 'b', 'sk': 1, 'n': 1}}"},
            {"Statement": f"INSERT INTO \"{t}\" VALUE {{'pk': 'b', 'sk': 1, 'n': 2}}"},
            {"Statement": f"UPDATE \"{t}\" SET n = 1 WHERE pk = 'b'"},
        ])["Responses"]
        self.assertNotIn("Error", batch[0])
        self.assertEqual(batch[1]["Error"]["Code"], "DuplicateItem")
        self.assertEqual(batch[2]["Error"], {"Code": "ValidationError", "Message": "Where clause does not contain a mandatory equality on all key attributes"})

        reads = self.ddb.batch_execute_statement(Statements=[{"Statement": f"SELECT n FROM \"{t}\" WHERE pk = 'b' AND sk = 1"}])["Responses"]
        self.assertEqual(reads[0]["Item"], {"n": {"N": "1"}})

        self.ddb.execute_transaction(TransactStatements=[
            {"Statement": f"UPDATE \"{t}\" SET n = n + 1 WHERE pk = 'b' AND sk = 1"},
            {"Statement": f"INSERT INTO \"{t}\" VALUE {{'pk': 'b', 'sk': 2}}"},
        ], ClientRequestToken="tok-" + uuid.uuid4().hex[:8])
        got = self.ddb.execute_transaction(TransactStatements=[
            {"Statement": f"SELECT * FROM \"{t}\" WHERE pk = 'b' AND sk = ?", "Parameters": [{"N": "1"}]},
            {"Statement": f"SELECT * FROM \"{t}\" WHERE pk = 'b' AND sk = 2"},
        ])["Responses"]
        self.assertEqual(got[0]["Item"]["n"], {"N": "2"})
        self.assertEqual(got[1]["Item"]["sk"], {"N": "2"})

        with self.assertRaises(ClientError) as e:
            self.ddb.execute_transaction(TransactStatements=[
                {"Statement": f"UPDATE \"{t}\" SET n = 100 WHERE pk = 'b' AND sk = 1"},
                {"Statement": f"INSERT INTO \"{t}\" VALUE {{'pk': 'b', 'sk': 2}}"},
            ])
        self.assertEqual(e.exception.response["Error"]["Code"], "TransactionCanceledException")
        self.assertEqual([r["Code"] for r in e.exception.response["CancellationReasons"]], ["None", "DuplicateItem"])

    def test_malformed_statement(self):
        with self.assertRaises(ClientError) as e:
            self.run_statement(f"SELECT * FROM \"{self.table}\" WHERE")
        self.assertEqual(e.exception.response["Error"]["Code"], "ValidationException")
        self.assertEqual(e.exception.response["Error"]["Message"], "Statement wasn't well formed, can't be processed: Unexpected term")


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
