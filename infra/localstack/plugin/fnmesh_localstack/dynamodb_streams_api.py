"""The DynamoDB Streams API (ListStreams, DescribeStream, GetShardIterator, GetRecords) over the
streams ``dynamodb_streams.py`` keeps for moto's tables.

LocalStack's own providers for this API read DynamoDB Local's streams or mirror them into Kinesis
(kinesis-mock); neither sees moto's tables. LocalStack's Lambda event-source mappings read a
table's stream through this API, so they work against this provider unchanged.

Shard iterators look like AWS's: ``<stream ARN>|1|<opaque>``; the opaque part carries the shard,
the sequence number to read from and when the iterator was issued. Like AWS's, an iterator
expires 15 minutes after it was issued (``ExpiredIteratorException``).
"""

import base64
import json
import time

from localstack.aws.api import CommonServiceException, RequestContext
from localstack.aws.api.dynamodbstreams import (
    DescribeStreamOutput,
    DynamodbstreamsApi,
    ExpiredIteratorException,
    GetRecordsOutput,
    GetShardIteratorOutput,
    ListStreamsOutput,
    PositiveIntegerObject,
    ResourceNotFoundException,
    SequenceNumber,
    ShardFilter,
    ShardId,
    ShardIterator,
    ShardIteratorType,
    StreamArn,
    TableName,
)

from localstack.services.plugins import Service, aws_provider

from fnmesh_localstack import dynamodb_streams
from fnmesh_localstack.dynamodb_streams import STREAMS

ITERATOR_LIFETIME_SECONDS = 15 * 60
MAX_RECORDS = 1000


class ValidationException(CommonServiceException):
    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


def _not_found(stream_arn: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Requested resource not found: Stream: {stream_arn} not found")


def _iterator(stream_arn: str, shard_id: str, position: int) -> str:
    state = json.dumps({"shard": shard_id, "from": position, "issued": time.time()}, separators=(",", ":"))
    return f"{stream_arn}|1|{base64.urlsafe_b64encode(state.encode()).decode()}"


def _limit(limit, most: int) -> int:
    if limit is None:
        return most
    if limit < 1 or limit > most:
        raise ValidationException(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
            f"Member must have value less than or equal to {most}"
        )
    return limit


class FnmeshDynamoDBStreamsProvider(DynamodbstreamsApi):
    def _stream(self, context: RequestContext, stream_arn: str):
        stream = STREAMS.get(stream_arn)
        if stream is None or stream.account_id != context.account_id or stream.region != context.region:
            raise _not_found(stream_arn)
        return stream

    def list_streams(
        self,
        context: RequestContext,
        table_name: TableName | None = None,
        limit: PositiveIntegerObject | None = None,
        exclusive_start_stream_arn: StreamArn | None = None,
        **kwargs,
    ) -> ListStreamsOutput:
        limit = _limit(limit, 100)
        with dynamodb_streams._lock:
            streams = sorted(
                (
                    stream
                    for stream in STREAMS.values()
                    if stream.account_id == context.account_id
                    and stream.region == context.region
                    and (table_name is None or stream.table_name == table_name)
                ),
                key=lambda stream: stream.arn,
            )
        if exclusive_start_stream_arn:
            streams = [stream for stream in streams if stream.arn > exclusive_start_stream_arn]
        page = streams[:limit]
        result = ListStreamsOutput(
            Streams=[{"StreamArn": s.arn, "TableName": s.table_name, "StreamLabel": s.label} for s in page]
        )
        if len(streams) > limit:
            result["LastEvaluatedStreamArn"] = page[-1].arn
        return result

    def describe_stream(
        self,
        context: RequestContext,
        stream_arn: StreamArn,
        limit: PositiveIntegerObject | None = None,
        exclusive_start_shard_id: ShardId | None = None,
        shard_filter: ShardFilter | None = None,
        **kwargs,
    ) -> DescribeStreamOutput:
        limit = _limit(limit, 100)
        stream = self._stream(context, stream_arn)
        with dynamodb_streams._lock:
            description = stream.describe()
            shards = list(stream.shards)
            if exclusive_start_shard_id:
                ids = [shard.id for shard in shards]
                shards = shards[ids.index(exclusive_start_shard_id) + 1 :] if exclusive_start_shard_id in ids else []
            if shard_filter and shard_filter.get("Type") == "CHILD_SHARDS":
                shards = []  # one shard per stream: no shard has a parent
            page = shards[:limit]
            description["Shards"] = [shard.to_json() for shard in page]
        if len(shards) > limit:
            description["LastEvaluatedShardId"] = page[-1].id
        return DescribeStreamOutput(StreamDescription=description)

    def get_shard_iterator(
        self,
        context: RequestContext,
        stream_arn: StreamArn,
        shard_id: ShardId,
        shard_iterator_type: ShardIteratorType,
        sequence_number: SequenceNumber | None = None,
        **kwargs,
    ) -> GetShardIteratorOutput:
        stream = self._stream(context, stream_arn)
        shard = stream.shard(shard_id)
        if shard is None:
            raise ResourceNotFoundException(
                f"Requested resource not found: Shard does not exist: {shard_id} in stream {stream_arn}"
            )
        with dynamodb_streams._lock:
            if shard_iterator_type == "TRIM_HORIZON":
                position = shard.oldest
            elif shard_iterator_type == "LATEST":
                position = shard.next
            else:
                if not sequence_number or not sequence_number.isdigit():
                    raise ValidationException(
                        f"Invalid SequenceNumber for ShardIteratorType {shard_iterator_type}: {sequence_number}"
                    )
                position = int(sequence_number) + (1 if shard_iterator_type == "AFTER_SEQUENCE_NUMBER" else 0)
        return GetShardIteratorOutput(ShardIterator=_iterator(stream_arn, shard_id, position))

    def get_records(
        self,
        context: RequestContext,
        shard_iterator: ShardIterator,
        limit: PositiveIntegerObject | None = None,
        **kwargs,
    ) -> GetRecordsOutput:
        limit = _limit(limit, MAX_RECORDS)
        stream_arn, _, opaque = shard_iterator.partition("|1|")
        try:
            state = json.loads(base64.urlsafe_b64decode(opaque.encode()))
            shard_id, position, issued = state["shard"], int(state["from"]), float(state["issued"])
        except (ValueError, KeyError, TypeError):
            raise ValidationException("Invalid ShardIterator")
        stream = self._stream(context, stream_arn)
        shard = stream.shard(shard_id)
        if shard is None:
            raise ResourceNotFoundException(f"Requested resource not found: Shard does not exist: {shard_id}")
        now = time.time()
        if now - issued > ITERATOR_LIFETIME_SECONDS:
            raise ExpiredIteratorException(
                f"Iterator expired. The iterator was created at time {time.strftime('%a %b %d %H:%M:%S UTC %Y', time.gmtime(issued))} "
                f"while right now it is {time.strftime('%a %b %d %H:%M:%S UTC %Y', time.gmtime(now))} which is further "
                f"in the future than the tolerated delay of {ITERATOR_LIFETIME_SECONDS * 1000} milliseconds."
            )
        with dynamodb_streams._lock:
            records, following = shard.read(position, limit)
            records = [_copy(record) for record in records]
            exhausted = shard.ending_sequence_number is not None and following > shard.ending_sequence_number
        result = GetRecordsOutput(Records=records)
        if not exhausted:
            result["NextShardIterator"] = _iterator(stream_arn, shard_id, following)
        return result


def _copy(record: dict) -> dict:
    """A record for one answer: the serializer and LocalStack's pollers may change what they get."""
    copied = dict(record)
    copied["dynamodb"] = dict(record["dynamodb"])
    return copied


def _lambda_events_keep_user_identity() -> None:
    """LocalStack's stream poller drops a record's ``userIdentity`` when it builds the Lambda event;
    AWS keeps it (lower-case keys there), which is how a function tells a TTL deletion apart."""
    from localstack.services.lambda_.event_source_mapping.pollers.dynamodb_poller import DynamoDBPoller

    transform = DynamoDBPoller.transform_into_events
    if getattr(transform, "fnmesh_user_identity", False):
        return

    def transform_into_events(self, records, shard_id):
        events = transform(self, records, shard_id)
        for event, record in zip(events, records):
            if identity := record.get("userIdentity"):
                event["userIdentity"] = {"type": identity.get("Type"), "principalId": identity.get("PrincipalId")}
        return events

    transform_into_events.fnmesh_user_identity = True
    DynamoDBPoller.transform_into_events = transform_into_events


@aws_provider(api="dynamodbstreams", name="fnmesh")
def dynamodbstreams_fnmesh():
    dynamodb_streams.install()
    _lambda_events_keep_user_identity()
    return Service.for_provider(FnmeshDynamoDBStreamsProvider())
