#!/usr/bin/env python3
"""Writes SigV4-signed PutItem/GetItem requests (raw HTTP/1.1 text) for signed.lua, and can set up the bench table.

  signed_requests.py setup URL KEY SECRET NKEYS VALSIZE      create table "bench" and load NKEYS items (signed)
  signed_requests.py gen URL KEY SECRET OP NKEYS VALSIZE N OUT write N requests of OP (put|get) to OUT

Each request is signed once, at generation time, with the current X-Amz-Date, so a file stays valid for the 15
minutes a signature is accepted. The requests are byte-for-byte what a SigV4 client sends; the server verifies
each one in full (the signature covers the body), so replaying them costs the server exactly what fresh
signatures would.
"""
import json, random, string, struct, sys
from urllib.parse import urlparse

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def client(url, key, secret):
    return boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret)


def setup(url, key, secret, nkeys, valsize):
    c = client(url, key, secret)
    try:
        c.delete_table(TableName="bench")
    except c.exceptions.ResourceNotFoundException:
        pass
    c.create_table(TableName="bench", BillingMode="PAY_PER_REQUEST",
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                   KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    val = "v" * valsize
    for start in range(0, nkeys, 25):
        items = [{"PutRequest": {"Item": {"pk": {"S": "k%07d" % i}, "val": {"S": val}}}}
                 for i in range(start, min(nkeys, start + 25))]
        c.batch_write_item(RequestItems={"bench": items})
    print("loaded %d items" % nkeys)


def gen(url, key, secret, op, nkeys, valsize, n, out):
    host = urlparse(url).netloc
    creds = Credentials(key, secret)
    signer = SigV4Auth(creds, "dynamodb", "us-east-1")
    rnd = random.Random(7)
    val = "".join(rnd.choice(string.ascii_lowercase) for _ in range(valsize))
    with open(out, "wb") as f:
        for _ in range(n):
            k = "k%07d" % rnd.randrange(nkeys)
            if op == "put":
                target, body = "PutItem", {"TableName": "bench", "Item": {"pk": {"S": k}, "val": {"S": val}}}
            else:
                target, body = "GetItem", {"TableName": "bench", "Key": {"pk": {"S": k}}}
            data = json.dumps(body, separators=(",", ":")).encode()
            req = AWSRequest(method="POST", url=url + "/", data=data, headers={
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": "DynamoDB_20120810." + target,
                "Host": host,
            })
            signer.add_auth(req)
            lines = ["POST / HTTP/1.1"] + ["%s: %s" % (h, v) for h, v in req.headers.items()]
            lines.append("Content-Length: %d" % len(data))
            raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + data
            f.write(struct.pack(">I", len(raw)))
            f.write(raw)


if __name__ == "__main__":
    a = sys.argv
    if a[1] == "setup":
        setup(a[2], a[3], a[4], int(a[5]), int(a[6]))
    else:
        gen(a[2], a[3], a[4], a[5], int(a[6]), int(a[7]), int(a[8]), a[9])
