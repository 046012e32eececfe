"""Makes Application Auto Scaling calls through boto3's application-autoscaling client (botocore 1.43) against the host.

AAS_CALLS holds a JSON list of [operation, parameters] pairs, operation in boto3's snake_case; the script prints one
line "AAS-RESULTS: <json>" with, per call, the response (without ResponseMetadata) or {"Error": {...}, "HTTPStatus": n}.
Retries are off, so an error is reported as the server sent it.
"""
import json
import os

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

client = boto3.client(
    "application-autoscaling",
    endpoint_url=os.environ["DDB_ENDPOINT"],
    region_name="us-east-1",
    aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
    aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    config=Config(retries={"max_attempts": 1}),
)

results = []
for operation, parameters in json.loads(os.environ["AAS_CALLS"]):
    try:
        response = getattr(client, operation)(**parameters)
        response.pop("ResponseMetadata", None)
        results.append(response)
    except ClientError as e:
        results.append({"Error": e.response["Error"], "HTTPStatus": e.response["ResponseMetadata"]["HTTPStatusCode"]})

print("AAS-RESULTS: " + json.dumps(results, default=lambda t: t.timestamp()))
