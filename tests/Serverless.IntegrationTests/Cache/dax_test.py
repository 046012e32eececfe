"""The DAX control plane through boto3's own `dax` client, and boto3's DynamoDB client on a cluster's endpoint.

Needs botocore 1.43 (the image's python3). DDB_ENDPOINT is the host. Asserts, prints "ok" at the end.
"""
import json
import os
import sys
import urllib.request
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["DDB_ENDPOINT"]
CONFIG = Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=10)


def client(service, endpoint=ENDPOINT):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", config=CONFIG)


def error_of(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"]
    raise AssertionError(f"{call.__name__} did not fail")


def cache_metrics(name):
    with urllib.request.urlopen(ENDPOINT + "/admin/metrics") as r:
        caches = json.load(r)["Caches"]
    return next(c for c in caches if c["ClusterName"] == name)


dax = client("dax")
suffix = uuid.uuid4().hex[:8]
group = f"short-{suffix}"
cluster = f"Boto-{suffix}"
lower = cluster.lower()

# Parameter groups: the default group has AWS's two TTLs at 300,000 ms.
defaults = {p["ParameterName"]: p for p in dax.describe_parameters(ParameterGroupName="default.dax1.0")["Parameters"]}
assert defaults["record-ttl-millis"]["ParameterValue"] == "300000", defaults
assert defaults["query-ttl-millis"]["ParameterValue"] == "300000", defaults
assert defaults["query-ttl-millis"]["DataType"] == "integer" and defaults["query-ttl-millis"]["IsModifiable"] == "TRUE"
assert defaults["invalidate-on-table-writes"]["ParameterValue"] == "true"
assert {p["ParameterName"] for p in dax.describe_default_parameters()["Parameters"]} == set(defaults)

created = dax.create_parameter_group(ParameterGroupName=group, Description="short TTLs")["ParameterGroup"]
assert created == {"ParameterGroupName": group, "Description": "short TTLs"}, created
assert error_of(dax.create_parameter_group, ParameterGroupName=group)[0] == "ParameterGroupAlreadyExistsFault"
dax.update_parameter_group(ParameterGroupName=group, ParameterNameValues=[
    {"ParameterName": "record-ttl-millis", "ParameterValue": "60000"},
    {"ParameterName": "query-ttl-millis", "ParameterValue": "0"}])
values = {p["ParameterName"]: p["ParameterValue"] for p in dax.describe_parameters(ParameterGroupName=group)["Parameters"]}
assert values == {"record-ttl-millis": "60000", "query-ttl-millis": "0", "invalidate-on-table-writes": "true"}, values
code, message = error_of(dax.update_parameter_group, ParameterGroupName=group,
                         ParameterNameValues=[{"ParameterName": "record-ttl-millis", "ParameterValue": "soon"}])
assert code == "InvalidParameterValueException" and "record-ttl-millis" in message, (code, message)
assert error_of(dax.update_parameter_group, ParameterGroupName=group,
                ParameterNameValues=[{"ParameterName": "no-such", "ParameterValue": "1"}])[0] == "InvalidParameterValueException"
assert error_of(dax.update_parameter_group, ParameterGroupName="default.dax1.0",
                ParameterNameValues=[{"ParameterName": "record-ttl-millis", "ParameterValue": "1"}])[0] == "InvalidParameterGroupStateFault"
assert error_of(dax.describe_parameters, ParameterGroupName="absent-group")[0] == "ParameterGroupNotFoundFault"
names = [g["ParameterGroupName"] for g in dax.describe_parameter_groups()["ParameterGroups"]]
assert "default.dax1.0" in names and group in names, names
assert dax.describe_parameter_groups(ParameterGroupNames=[group])["ParameterGroups"][0]["Description"] == "short TTLs"

# Clusters: creating in CreateCluster's answer, available after; the name is stored in lower case.
role = "arn:aws:iam::000000000000:role/DAXServiceRole"
answer = dax.create_cluster(ClusterName=cluster, NodeType="dax.r5.large", ReplicationFactor=3, IamRoleArn=role,
                            Description="boto3 test", SSESpecification={"Enabled": True},
                            Tags=[{"Key": "team", "Value": "cache"}])["Cluster"]
assert answer["ClusterName"] == lower and answer["Status"] == "creating", answer
assert answer["TotalNodes"] == 3 and answer["ActiveNodes"] == 0, answer
assert answer["ClusterArn"] == f"arn:aws:dax:us-east-1:000000000000:cache/{lower}", answer
assert answer["IamRoleArn"] == role and answer["SSEDescription"] == {"Status": "ENABLED"}, answer
assert answer["ParameterGroup"]["ParameterGroupName"] == "default.dax1.0", answer

assert error_of(dax.create_cluster, ClusterName=cluster, NodeType="dax.r5.large", ReplicationFactor=1, IamRoleArn=role)[0] == "ClusterAlreadyExistsFault"
code, message = error_of(dax.create_cluster, ClusterName="9-bad", NodeType="dax.r5.large", ReplicationFactor=1, IamRoleArn=role)
assert code == "InvalidParameterValueException" and message.startswith("Cluster ID specified is not a valid identifier"), message
assert error_of(dax.create_cluster, ClusterName="bad--name", NodeType="dax.r5.large", ReplicationFactor=1, IamRoleArn=role)[0] == "InvalidParameterValueException"
code, message = error_of(dax.create_cluster, ClusterName="c-" + suffix, NodeType="dax.r5.large", ReplicationFactor=1, IamRoleArn="role")
assert code == "InvalidParameterValueException" and message == "ARNs must start with 'arn:': role", message
assert error_of(dax.create_cluster, ClusterName="c-" + suffix, NodeType="dax.r5.large", ReplicationFactor=1, IamRoleArn=role,
                ParameterGroupName="absent-group")[0] == "ParameterGroupNotFoundFault"

described = dax.describe_clusters(ClusterNames=[cluster])["Clusters"][0]
assert described["Status"] == "available" and described["ActiveNodes"] == 3, described
assert [n["NodeId"] for n in described["Nodes"]] == [f"{lower}-a", f"{lower}-b", f"{lower}-c"], described["Nodes"]
endpoint = described["ClusterDiscoveryEndpoint"]
url = endpoint["URL"]
assert url == f"{ENDPOINT}/dax/{lower}", endpoint
assert endpoint["Address"] == "127.0.0.1" and endpoint["Port"] == int(ENDPOINT.rsplit(":", 1)[1]), endpoint
assert error_of(dax.describe_clusters, ClusterNames=["absent-cluster"]) == ("ClusterNotFoundFault", "Cluster absent-cluster not found.")
assert any(c["ClusterName"] == lower for page in dax.get_paginator("describe_clusters").paginate() for c in page["Clusters"])

updated = dax.update_cluster(ClusterName=cluster, Description="updated", ParameterGroupName=group)["Cluster"]
assert updated["Description"] == "updated" and updated["ParameterGroup"]["ParameterGroupName"] == group, updated
assert error_of(dax.delete_parameter_group, ParameterGroupName=group)[0] == "InvalidParameterGroupStateFault"
assert error_of(dax.update_cluster, ClusterName="absent-cluster")[0] == "ClusterNotFoundFault"

# boto3's DynamoDB client on the cluster's URL: it keeps the /dax/<name> path, and the cache answers.
direct = client("dynamodb")
cached = client("dynamodb", url)
table = f"dax-boto-{suffix}"
direct.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
direct.put_item(TableName=table, Item={"pk": {"S": "hot"}, "v": {"N": "1"}})
miss = cached.get_item(TableName=table, Key={"pk": {"S": "hot"}}, ReturnConsumedCapacity="TOTAL")
hit = cached.get_item(TableName=table, Key={"pk": {"S": "hot"}}, ReturnConsumedCapacity="TOTAL")
assert miss["Item"] == hit["Item"] == {"pk": {"S": "hot"}, "v": {"N": "1"}}, (miss, hit)
assert miss["ConsumedCapacity"]["CapacityUnits"] == 0.5, miss
assert hit["ConsumedCapacity"] == {"TableName": table, "CapacityUnits": 0.0, "ReadCapacityUnits": 0.0}, hit
m = cache_metrics(lower)
assert (m["Hits"], m["Misses"]) == (1, 1), m

# Negative caching: an absent item is remembered as absent.
assert "Item" not in cached.get_item(TableName=table, Key={"pk": {"S": "absent"}})
assert "Item" not in cached.get_item(TableName=table, Key={"pk": {"S": "absent"}})
m = cache_metrics(lower)
assert (m["Hits"], m["Misses"]) == (2, 2), m

# A write straight to the table invalidates; a write through the cluster is written through.
direct.put_item(TableName=table, Item={"pk": {"S": "hot"}, "v": {"N": "2"}})
assert cached.get_item(TableName=table, Key={"pk": {"S": "hot"}}, ReturnConsumedCapacity="TOTAL")["Item"]["v"] == {"N": "2"}
cached.put_item(TableName=table, Item={"pk": {"S": "hot"}, "v": {"N": "3"}})
through = cached.get_item(TableName=table, Key={"pk": {"S": "hot"}}, ReturnConsumedCapacity="TOTAL")
assert through["Item"]["v"] == {"N": "3"} and through["ConsumedCapacity"]["CapacityUnits"] == 0.0, through

# Query through the cluster: cached, and invalidated by a new item in the table.
q = dict(TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "hot"}})
assert cached.query(**q)["Count"] == 1
assert cached.query(**q)["Count"] == 1

# Deleting the cluster removes its endpoint.
gone = dax.delete_cluster(ClusterName=cluster)["Cluster"]
assert gone["Status"] == "deleting", gone
assert error_of(dax.describe_clusters, ClusterNames=[cluster])[0] == "ClusterNotFoundFault"
assert error_of(cached.get_item, TableName=table, Key={"pk": {"S": "hot"}})[0] == "ClusterNotFoundFault"
assert error_of(dax.delete_cluster, ClusterName=cluster)[0] == "ClusterNotFoundFault"
dax.delete_parameter_group(ParameterGroupName=group)
assert error_of(dax.describe_parameter_groups, ParameterGroupNames=[group])[0] == "ParameterGroupNotFoundFault"
direct.delete_table(TableName=table)
print("ok")
