"""DynamoDB Streams for the tables moto serves: what was written, as stream records.

moto keeps a stream of its own per table, but it records a write whether or not it changed the
item, records an update that creates an item twice, has one fixed shard id, and is not what our
transactions (``transactions.py``) or LocalStack's streams API read. So its recording is switched
off and this module keeps the streams instead:

* every DynamoDB operation runs inside ``recording()`` (``dynamodb.py`` opens it inside the moto
  lock). moto's three item writers (``Table.put_item``, ``Table.delete_item`` and
  ``DynamoDBBackend.update_item``) note the state of each item before the operation first touches
  it; when the operation ends, each touched item whose state differs gets one record
  (INSERT/MODIFY/REMOVE, images per the table's ``StreamViewType``). PutItem, UpdateItem,
  DeleteItem, BatchWriteItem, TransactWriteItems and PartiQL all write through these three, and a
  write that changes nothing, or a transaction that is rolled back, leaves no record. A
  BatchWriteItem's records follow its request's order (moto applies the puts first).
* a stream belongs to a table's stream label: enabling a stream (CreateTable/UpdateTable
  ``StreamSpecification``) starts a new one, disabling it or deleting the table closes it (its
  records stay readable for 24 hours, as on AWS). Each stream has one shard.

``dynamodb_streams_api.py`` serves these streams as the DynamoDB Streams API; the TTL sweeper
(``dynamodb_ttl.py``) records its deletions as the service's.
"""

import base64
import bisect
import copy
import itertools
import secrets
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Optional

RETENTION_SECONDS = 24 * 3600
SERVICE_IDENTITY = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}

# Sequence numbers increase across all streams (AWS's are 21+ digit decimal strings).
_sequence = itertools.count(10**20 + int(time.time()) * 10**6)
_lock = threading.Lock()  # guards the streams; records are appended under the moto lock as well
_operation = threading.local()


class Shard:
    def __init__(self) -> None:
        created_ms = int(time.time() * 1000)
        self.id = f"shardId-{created_ms:020d}-{secrets.token_hex(4)}"
        self.starting_sequence_number = next(_sequence)
        self.ending_sequence_number: Optional[int] = None
        self.sequence_numbers: list[int] = []
        self.records: list[dict[str, Any]] = []
        self.arrivals: list[float] = []

    def append(self, record: dict[str, Any]) -> None:
        sequence_number = next(_sequence)
        record["dynamodb"]["SequenceNumber"] = str(sequence_number)
        self.sequence_numbers.append(sequence_number)
        self.records.append(record)
        self.arrivals.append(time.time())
        trimmed = bisect.bisect_left(self.arrivals, time.time() - RETENTION_SECONDS)
        if trimmed:
            del self.sequence_numbers[:trimmed], self.records[:trimmed], self.arrivals[:trimmed]

    def close(self) -> None:
        if self.ending_sequence_number is None:
            self.ending_sequence_number = self.sequence_numbers[-1] if self.sequence_numbers else self.starting_sequence_number

    @property
    def oldest(self) -> int:
        """The sequence number TRIM_HORIZON starts at."""
        return self.sequence_numbers[0] if self.sequence_numbers else self.starting_sequence_number

    @property
    def next(self) -> int:
        """The sequence number LATEST starts at (above every record so far)."""
        return (self.sequence_numbers[-1] if self.sequence_numbers else self.starting_sequence_number) + 1

    def read(self, position: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Up to ``limit`` records from sequence number ``position`` on, and where to go on from."""
        start = bisect.bisect_left(self.sequence_numbers, position)
        records = self.records[start : start + limit]
        following = self.sequence_numbers[start + len(records) - 1] + 1 if records else position
        return records, following

    def to_json(self) -> dict[str, Any]:
        numbers = {"StartingSequenceNumber": str(self.starting_sequence_number)}
        if self.ending_sequence_number is not None:
            numbers["EndingSequenceNumber"] = str(self.ending_sequence_number)
        return {"ShardId": self.id, "SequenceNumberRange": numbers}


class Stream:
    def __init__(self, table, label: str) -> None:
        self.arn = f"{table.table_arn}/stream/{label}"
        self.label = label
        self.account_id = table.account_id
        self.region = table.region_name
        self.table_name = table.name
        self.view_type = table.stream_specification.get("StreamViewType", "KEYS_ONLY")
        self.key_schema = copy.deepcopy(table.schema)
        self.created = datetime.now(timezone.utc)
        self.enabled = True
        self.shards = [Shard()]

    def disable(self) -> None:
        self.enabled = False
        for shard in self.shards:
            shard.close()

    def shard(self, shard_id: str) -> Optional[Shard]:
        return next((shard for shard in self.shards if shard.id == shard_id), None)

    def describe(self) -> dict[str, Any]:
        return {
            "StreamArn": self.arn,
            "StreamLabel": self.label,
            "StreamStatus": "ENABLED" if self.enabled else "DISABLED",
            "StreamViewType": self.view_type,
            "CreationRequestDateTime": self.created,
            "TableName": self.table_name,
            "KeySchema": self.key_schema,
        }


# stream ARN -> stream, every stream since start-up (a disabled one stays readable, as on AWS)
STREAMS: dict[str, Stream] = {}


def stream_of(table) -> Optional[Stream]:
    """The table's enabled stream, if it has one."""
    if not table.latest_stream_label or not (table.stream_specification or {}).get("StreamEnabled"):
        return None
    stream = STREAMS.get(f"{table.table_arn}/stream/{table.latest_stream_label}")
    return stream if stream is not None and stream.enabled else None


def _label_now() -> str:
    """A stream label as AWS writes them: the creation time to the millisecond."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


# --- item images -------------------------------------------------------------------------------


def _wire(value: Any) -> Any:
    """An attribute value from moto's JSON form to the API's, binary as bytes (the serializer encodes it)."""
    (kind, inner), = value.items()
    if kind == "B":
        return {kind: base64.b64decode(inner) if isinstance(inner, str) else inner}
    if kind == "BS":
        return {kind: [base64.b64decode(v) if isinstance(v, str) else v for v in inner]}
    if kind == "M":
        return {kind: {name: _wire(v) for name, v in inner.items()}}
    if kind == "L":
        return {kind: [_wire(v) for v in inner]}
    return {kind: copy.deepcopy(inner)}


def _image(item) -> Optional[dict[str, Any]]:
    return None if item is None else {name: _wire(value) for name, value in item.to_json()["Attributes"].items()}


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").split("e")[0].split("E")[0].strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def _size(value: dict[str, Any]) -> int:
    """An attribute value's size as DynamoDB counts it (DynamoDB Developer Guide, item sizes)."""
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(v.encode()) for v in inner)
    if kind == "NS":
        return sum(_number_size(v) for v in inner)
    if kind == "BS":
        return sum(len(v) for v in inner)
    if kind == "M":
        return 3 + sum(len(name.encode()) + 1 + _size(v) for name, v in inner.items())
    return 3 + sum(1 + _size(v) for v in inner)  # L


def _attributes_size(attributes: Optional[dict[str, Any]]) -> int:
    return sum(len(name.encode()) + _size(value) for name, value in (attributes or {}).items())


# --- recording writes ----------------------------------------------------------------------------


@contextmanager
def recording(identity: Optional[dict[str, str]] = None):
    """One DynamoDB operation: its changed items become stream records when it ends."""
    if getattr(_operation, "touched", None) is not None:
        yield  # inside an operation already (e.g. a transaction's puts)
        return
    _operation.touched = {}
    try:
        yield
    finally:
        touched, _operation.touched = _operation.touched, None
        _emit(touched, identity)


# Called as listener(table, hash_value, range_value, item or None) for every item an operation
# changed, after its record (global tables replicate with it: ``dynamodb_replicas.py``). A table
# without a stream is watched only if it has ``fnmesh_watched`` set.
CHANGE_LISTENERS: list = []


def _touch(table, hash_value, range_value) -> None:
    """Notes an item's state before the current operation first writes it."""
    if stream_of(table) is None and not getattr(table, "fnmesh_watched", False):
        return
    touched = _operation.touched
    identity = (table.table_arn, hash_value, range_value)
    if identity not in touched:
        touched[identity] = (table, hash_value, range_value, _image(table.get_item(hash_value, range_value)))


def _emit(touched: dict, identity: Optional[dict[str, str]]) -> None:
    for table, hash_value, range_value, old in touched.values():
        current = table.get_item(hash_value, range_value)
        new = _image(current)
        if old == new:
            continue
        _record(table, old, new, identity)
        for listener in CHANGE_LISTENERS:
            listener(table, hash_value, range_value, current)


def _record(table, old, new, identity: Optional[dict[str, str]]) -> None:
    stream = stream_of(table)
    if stream is None:
        return
    some = new if new is not None else old
    keys = {table.hash_key_attr: some[table.hash_key_attr]}
    if table.range_key_attr is not None:
        keys[table.range_key_attr] = some[table.range_key_attr]
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": datetime.now(timezone.utc).replace(microsecond=0),
        "Keys": keys,
    }
    if new is not None and stream.view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
        change["NewImage"] = new
    if old is not None and stream.view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        change["OldImage"] = old
    change["SizeBytes"] = sum(_attributes_size(change.get(part)) for part in ("Keys", "NewImage", "OldImage"))
    change["StreamViewType"] = stream.view_type
    record = {
        "eventID": uuid.uuid4().hex,
        "eventName": "INSERT" if old is None else "REMOVE" if new is None else "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": stream.region,
        "dynamodb": change,
    }
    if identity is not None:
        record["userIdentity"] = dict(identity)
    with _lock:
        stream.shards[-1].append(record)


def _keys_of(table, attributes: dict[str, Any]):
    """The hash and range key values (moto's DynamoType) named in a request's item or key."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if table.hash_key_attr not in attributes:
        return None
    range_value = None
    if table.range_key_attr is not None:
        if table.range_key_attr not in attributes:
            return None
        range_value = DynamoType(attributes[table.range_key_attr])
    return DynamoType(attributes[table.hash_key_attr]), range_value


def _record_writes_of(put_item, delete_item, update_item):
    def recorded_put_item(self, item_attrs, *args, **kwargs):
        with recording():
            keys = _keys_of(self, item_attrs)
            if keys is not None:
                _touch(self, *keys)
            return put_item(self, item_attrs, *args, **kwargs)

    def recorded_delete_item(self, hash_key, range_key, *args, **kwargs):
        with recording():
            _touch(self, hash_key, range_key)
            return delete_item(self, hash_key, range_key, *args, **kwargs)

    def recorded_update_item(self, table_name, key, *args, **kwargs):
        with recording():
            table = self.get_table(table_name)
            keys = _keys_of(table, key) if isinstance(key, dict) else None
            if keys is not None:
                _touch(table, *keys)
            return update_item(self, table_name, key, *args, **kwargs)

    return recorded_put_item, recorded_delete_item, recorded_update_item


def _batch_in_request_order(handle):
    """moto applies a BatchWriteItem's puts before its deletes; AWS's records follow the request."""

    def batch_write_item(self):
        with recording():
            for table_name, requests in (self.body.get("RequestItems") or {}).items():
                table = self.dynamodb_backend.tables.get(table_name)
                for request in requests if table is not None else []:
                    write = request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get("Key")
                    keys = _keys_of(table, write) if isinstance(write, dict) else None
                    if keys is not None:
                        _touch(table, *keys)
            return handle(self)

    return batch_write_item


# --- streams follow the tables' stream specifications ------------------------------------------


def _set_stream_specification(original):
    def set_stream_specification(self, streams):
        before = stream_of(self) if getattr(self, "latest_stream_label", None) else None
        original(self, streams)
        self.stream_shard = None  # moto's own recording, off: this module records instead
        enabled = (self.stream_specification or {}).get("StreamEnabled")
        with _lock:
            if before is not None and not enabled:
                before.disable()
            elif enabled and before is None:
                self.latest_stream_label = _label_now()
                stream = Stream(self, self.latest_stream_label)
                STREAMS[stream.arn] = stream

    return set_stream_specification


def _update_table_streams(original):
    def update_table_streams(self, table, stream_specification):
        if stream_of(table) is None and table.latest_stream_label:
            # moto refuses to enable a stream again once a table has had one; AWS starts a new one.
            if stream_specification.get("StreamEnabled"):
                table.set_stream_specification(stream_specification)
                return
        original(self, table, stream_specification)

    return update_table_streams


def _delete_table(original):
    def delete_table(self, name):
        table = original(self, name)
        stream = stream_of(table)
        if stream is not None:
            with _lock:
                stream.disable()
        return table

    return delete_table


def install() -> None:
    """Puts this module's recording in place of moto's (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    if getattr(Table.put_item, "fnmesh_streams", False):
        return
    put_item, delete_item, update_item = _record_writes_of(
        Table.put_item, Table.delete_item, DynamoDBBackend.update_item
    )
    Table.put_item, Table.delete_item, DynamoDBBackend.update_item = put_item, delete_item, update_item
    DynamoHandler.batch_write_item = _batch_in_request_order(DynamoHandler.batch_write_item)
    Table.set_stream_specification = _set_stream_specification(Table.set_stream_specification)
    DynamoDBBackend.update_table_streams = _update_table_streams(DynamoDBBackend.update_table_streams)
    DynamoDBBackend.delete_table = _delete_table(DynamoDBBackend.delete_table)
    Table.put_item.fnmesh_streams = True
