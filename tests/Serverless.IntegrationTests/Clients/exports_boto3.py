"""Exports and imports through boto3 (botocore 1.43: incremental exports, ImportTable), reading the files the host
writes under S3_ROOT/<bucket>/... and moving the host's clock (LocalHost__ClockControl) for the incremental window."""
import datetime
import gzip
import hashlib
import base64
import json
import os
import time
import urllib.request

from ddb_client import client

ddb = client()
endpoint = os.environ["DDB_ENDPOINT"]
root = os.environ["S3_ROOT"]
bucket = "boto-bucket"
offset = 0.0


def advance(seconds):
    global offset
    req = urllib.request.Request(f"{endpoint}/admin/clock/advance/{seconds}", method="POST", data=b"")
    with urllib.request.urlopen(req) as r:
        assert 200 <= r.status < 300, r.status
    offset += seconds


def host_now():
    return datetime.datetime.fromtimestamp(int(time.time() + offset), tz=datetime.timezone.utc)


def wait_export(arn):
    for _ in range(600):
        d = ddb.describe_export(ExportArn=arn)["ExportDescription"]
        if d["ExportStatus"] != "IN_PROGRESS":
            return d
        time.sleep(0.1)
    raise AssertionError("export still IN_PROGRESS")


def wait_import(arn):
    for _ in range(600):
        d = ddb.describe_import(ImportArn=arn)["ImportTableDescription"]
        if d["ImportStatus"] != "IN_PROGRESS":
            return d
        time.sleep(0.1)
    raise AssertionError("import still IN_PROGRESS")


def data_lines(d):
    """Every line of every data file in the manifest, after checking each file's MD5 and ETag."""
    manifest = os.path.join(root, bucket, d["ExportManifest"])
    summary = json.load(open(manifest))
    lines = []
    for entry in open(os.path.join(root, bucket, summary["manifestFilesS3Key"])):
        entry = json.loads(entry)
        raw = open(os.path.join(root, bucket, entry["dataFileS3Key"]), "rb").read()
        md5 = hashlib.md5(raw).digest()
        assert base64.b64encode(md5).decode() == entry["md5Checksum"], entry
        assert hashlib.md5(md5).hexdigest() + "-1" == entry["etag"], entry
        lines += [l for l in gzip.decompress(raw).decode().split("\n") if l]
    return summary, lines


name = "boto-exp-" + str(int(time.time() * 1000))
ddb.create_table(
    TableName=name,
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
time.sleep(1.1)
for i in range(20):
    ddb.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}, "v": {"N": str(i)}})
time.sleep(1.1)
noted = host_now()
time.sleep(1.1)
for i in range(5):
    ddb.delete_item(TableName=name, Key={"pk": {"S": f"k{i}"}})

# A full Ion export at the noted second: 20 items, whatever happened after.
full = ddb.export_table_to_point_in_time(TableArn=arn, ExportTime=noted, S3Bucket=bucket, S3Prefix="boto", ExportFormat="ION")["ExportDescription"]
assert full["ExportStatus"] == "IN_PROGRESS", full
d = wait_export(full["ExportArn"])
assert d["ExportStatus"] == "COMPLETED" and d["ItemCount"] == 20 and d["ExportFormat"] == "ION", d
summary, lines = data_lines(d)
assert summary["outputFormat"] == "ION" and summary["itemCount"] == 20, summary
assert all(l.startswith("$ion_1_0 {Item:{pk:\"k") for l in lines), lines[:2]
print("test_full_ion_export")

# An incremental export of a window of at least 15 minutes.
start = host_now() + datetime.timedelta(seconds=1)
time.sleep(2.1)
ddb.put_item(TableName=name, Item={"pk": {"S": "k10"}, "v": {"N": "100"}})
ddb.delete_item(TableName=name, Key={"pk": {"S": "k11"}})
advance(1200)
time.sleep(1.1)
end = host_now()
inc = ddb.export_table_to_point_in_time(
    TableArn=arn, S3Bucket=bucket, S3Prefix="boto-inc", ExportType="INCREMENTAL_EXPORT",
    IncrementalExportSpecification={"ExportFromTime": start, "ExportToTime": end, "ExportViewType": "NEW_AND_OLD_IMAGES"},
)["ExportDescription"]
d = wait_export(inc["ExportArn"])
assert d["ExportStatus"] == "COMPLETED" and d["ItemCount"] == 2 and d["ExportType"] == "INCREMENTAL_EXPORT", d
assert d["IncrementalExportSpecification"]["ExportViewType"] == "NEW_AND_OLD_IMAGES", d
summary, lines = data_lines(d)
records = {json.loads(l)["Keys"]["pk"]["S"]: json.loads(l) for l in lines}
assert records["k10"]["NewImage"]["v"] == {"N": "100"} and records["k10"]["OldImage"]["v"] == {"N": "10"}, records
assert "NewImage" not in records["k11"] and records["k11"]["OldImage"]["v"] == {"N": "11"}, records
assert summary["exportType"] == "INCREMENTAL_EXPORT" and summary["outputView"] == "NEW_AND_OLD_IMAGES", summary
print("test_incremental_export")

listed = ddb.list_exports(TableArn=arn)["ExportSummaries"]
assert sorted(e["ExportArn"] for e in listed) == sorted([full["ExportArn"], inc["ExportArn"]]), listed
print("test_list_exports")

# ImportTable of a CSV file with HeaderList and a delimiter, uncompressed.
os.makedirs(os.path.join(root, bucket, "csv"), exist_ok=True)
with open(os.path.join(root, bucket, "csv", "rows.csv"), "w") as f:
    f.write("a|1\nb|2\n")
target = name + "-csv"
imp = ddb.import_table(
    S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": "csv/"}, InputFormat="CSV", InputCompressionType="NONE",
    InputFormatOptions={"Csv": {"Delimiter": "|", "HeaderList": ["pk", "v"]}},
    TableCreationParameters={
        "TableName": target, "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST",
    },
)["ImportTableDescription"]
d = wait_import(imp["ImportArn"])
assert d["ImportStatus"] == "COMPLETED" and d["ImportedItemCount"] == 2 and d["ErrorCount"] == 0, d
assert d["InputFormatOptions"]["Csv"]["HeaderList"] == ["pk", "v"], d
item = ddb.get_item(TableName=target, Key={"pk": {"S": "b"}})["Item"]
assert item == {"pk": {"S": "b"}, "v": {"S": "2"}}, item
assert any(i["ImportArn"] == imp["ImportArn"] for i in ddb.list_imports()["ImportSummaryList"])
print("test_import_csv")
print("OK")
