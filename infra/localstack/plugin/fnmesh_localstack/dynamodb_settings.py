"""Table settings moto does not keep: Kinesis streaming destinations, contributor insights, and the
AWS-managed key that encrypts a table at rest when no key is named.

These operations only record and report a table's settings; they answer as the DynamoDB API
Reference documents (statuses, errors). A settings change takes effect at once here, where AWS
takes seconds to minutes: the answer to the change reports the transition (``ENABLING``,
``UPDATING``, ``DISABLING``), the next describe the settled state. Records are not delivered to a
Kinesis destination here (DynamoDB Streams are another module's business).

Settings are kept per table (by TableId), so a table deleted and created again starts without them.
"""

import threading
from datetime import datetime, timezone

from localstack.aws.api import CommonServiceException

_lock = threading.Lock()
# TableId -> {stream ARN -> {"StreamArn", "DestinationStatus", "ApproximateCreationDateTimePrecision"?}}
_destinations: dict[str, dict[str, dict]] = {}
# (TableId, index name or None) -> {"status": "ENABLED" | "DISABLED", "at": datetime}
_insights: dict[tuple, dict] = {}
# (account, region) -> ARN of the AWS-managed DynamoDB key in KMS
_managed_keys: dict[tuple[str, str], str] = {}

MANAGED_KEY_DESCRIPTION = "Default key that protects my DynamoDB data when no other key is defined"


def _invalid(message: str) -> CommonServiceException:
    return CommonServiceException("ValidationException", message)


def forget(table_id: str) -> None:
    with _lock:
        _destinations.pop(table_id, None)
        for key in [key for key in _insights if key[0] == table_id]:
            del _insights[key]


# --- encryption at rest --------------------------------------------------------------------------


def _managed_key_arn(account_id: str, region: str) -> str:
    """The account's AWS-managed key for DynamoDB (``KeyManager: AWS``), created in LocalStack's KMS
    on first use as AWS creates it on the first table encrypted with it."""
    with _lock:
        known = _managed_keys.get((account_id, region))
    if known:
        return known
    from localstack.aws.connect import connect_to
    from localstack.services.kms import provider as kms_provider

    kms = connect_to(aws_access_key_id=account_id, region_name=region).kms
    metadata = kms.create_key(Description=MANAGED_KEY_DESCRIPTION)["KeyMetadata"]
    kms_provider.set_key_managed(metadata["KeyId"], account_id, region)
    with _lock:
        return _managed_keys.setdefault((account_id, region), metadata["Arn"])


def with_sse_key(context, request: dict) -> dict:
    """CreateTable with encryption at rest and no key: the same request naming the managed key
    (AWS describes the table with that key's ARN). Other requests are returned as they are."""
    sse = request.get("SSESpecification")
    if not sse or not sse.get("Enabled") or sse.get("KMSMasterKeyId"):
        return request
    key = {"SSEType": "KMS", **sse, "KMSMasterKeyId": _managed_key_arn(context.account_id, context.region)}
    return {**request, "SSESpecification": key}


# --- contributor insights ------------------------------------------------------------------------


def _insights_summary(state: dict | None, table_name: str, index_name: str | None) -> dict:
    answer = {"TableName": table_name, "ContributorInsightsStatus": (state or {}).get("status", "DISABLED")}
    if index_name:
        answer["IndexName"] = index_name
    if state:
        answer["LastUpdateDateTime"] = state["at"]
    return answer


# --- operations ----------------------------------------------------------------------------------


def operations(find_table, table_id, table_not_found) -> dict:
    """The operations, as ``(context, request) -> response``; the caller holds moto's lock."""

    def existing(context, name: str):
        table = find_table(context, name)
        if table is None:
            raise table_not_found(name)
        return table

    def describe_contributor_insights(context, request):
        table = existing(context, request["TableName"])
        with _lock:
            state = _insights.get((table_id(table), request.get("IndexName")))
        return _insights_summary(state, request["TableName"], request.get("IndexName"))

    def update_contributor_insights(context, request):
        table = existing(context, request["TableName"])
        enable = request["ContributorInsightsAction"] == "ENABLE"
        with _lock:
            _insights[(table_id(table), request.get("IndexName"))] = {
                "status": "ENABLED" if enable else "DISABLED",
                "at": datetime.now(timezone.utc),
            }
        answer = {"TableName": request["TableName"], "ContributorInsightsStatus": "ENABLING" if enable else "DISABLING"}
        if request.get("IndexName"):
            answer["IndexName"] = request["IndexName"]
        return answer

    def enable_kinesis_streaming_destination(context, request):
        table = existing(context, request["TableName"])
        arn = request["StreamArn"]
        configuration = request.get("EnableKinesisStreamingConfiguration") or {}
        with _lock:
            destinations = _destinations.setdefault(table_id(table), {})
            current = destinations.get(arn)
            if current and current["DestinationStatus"] not in ("DISABLED", "ENABLE_FAILED"):
                raise _invalid(
                    "Table is not in a valid state to enable Kinesis Streaming Destination:"
                    "EnableKinesisStreamingDestination must be DISABLED or ENABLE_FAILED to perform ENABLE operation."
                )
            destination = {"StreamArn": arn, "DestinationStatus": "ACTIVE"}
            if configuration.get("ApproximateCreationDateTimePrecision"):
                destination["ApproximateCreationDateTimePrecision"] = configuration["ApproximateCreationDateTimePrecision"]
            destinations[arn] = destination
        return {
            "TableName": request["TableName"],
            "StreamArn": arn,
            "DestinationStatus": "ENABLING",
            "EnableKinesisStreamingConfiguration": configuration,
        }

    def describe_kinesis_streaming_destination(context, request):
        table = existing(context, request["TableName"])
        with _lock:
            destinations = [dict(d) for d in _destinations.get(table_id(table), {}).values()]
        return {"TableName": request["TableName"], "KinesisDataStreamDestinations": destinations}

    def update_kinesis_streaming_destination(context, request):
        table = existing(context, request["TableName"])
        arn = request["StreamArn"]
        configuration = request.get("UpdateKinesisStreamingConfiguration") or {}
        precision = configuration.get("ApproximateCreationDateTimePrecision")
        if not precision:
            raise _invalid(
                "Streaming destination cannot be updated with given parameters: "
                "UpdateKinesisStreamingConfiguration cannot be null or contain only null values"
            )
        with _lock:
            destination = _destinations.get(table_id(table), {}).get(arn)
            if destination is None:
                raise _invalid(
                    "Table is not in a valid state to enable Kinesis Streaming Destination: No streaming destination "
                    f"with streamArn: {arn} found for table with tableName: {request['TableName']}"
                )
            if destination.get("ApproximateCreationDateTimePrecision", "MILLISECOND") == precision:
                raise _invalid(
                    f"Invalid Request: Precision is already set to the desired value of {precision} "
                    f"for tableId: {table_id(table)}, kdsArn: {arn}"
                )
            destination["ApproximateCreationDateTimePrecision"] = precision
        return {
            "TableName": request["TableName"],
            "StreamArn": arn,
            "DestinationStatus": "UPDATING",
            "UpdateKinesisStreamingConfiguration": {"ApproximateCreationDateTimePrecision": precision},
        }

    def disable_kinesis_streaming_destination(context, request):
        table = existing(context, request["TableName"])
        arn = request["StreamArn"]
        with _lock:
            destination = _destinations.get(table_id(table), {}).get(arn)
            if destination is None or destination["DestinationStatus"] != "ACTIVE":
                raise _invalid(
                    "Table is not in a valid state to disable Kinesis Streaming Destination:"
                    "DisableKinesisStreamingDestination must be ACTIVE to perform DISABLE operation."
                )
            destination["DestinationStatus"] = "DISABLED"
        return {"TableName": request["TableName"], "StreamArn": arn, "DestinationStatus": "DISABLING"}

    return {
        "DescribeContributorInsights": describe_contributor_insights,
        "UpdateContributorInsights": update_contributor_insights,
        "EnableKinesisStreamingDestination": enable_kinesis_streaming_destination,
        "DescribeKinesisStreamingDestination": describe_kinesis_streaming_destination,
        "UpdateKinesisStreamingDestination": update_kinesis_streaming_destination,
        "DisableKinesisStreamingDestination": disable_kinesis_streaming_destination,
    }


def kinesis_destinations(table_id: str) -> list[dict]:
    """The table's active Kinesis streaming destinations (for whatever delivers stream records)."""
    with _lock:
        return [dict(d) for d in _destinations.get(table_id, {}).values() if d["DestinationStatus"] == "ACTIVE"]
