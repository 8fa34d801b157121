"""Strict mode for DynamoDB: transaction conflicts and hot-key throttling, as AWS has them.

moto answers one operation at a time (see ``dynamodb.py``), so on its own no two transactions ever
overlap and no item is ever too hot. Strict mode wraps the serialized operations:

Transaction conflicts ("Transaction conflict handling in DynamoDB", DynamoDB Developer Guide):
a ``TransactWriteItems`` holds its items for a commit window (``transaction_window_ms``) from its
arrival; within it, moto evaluates its conditions and applies it (or cancels it) atomically, and the
answer goes back when the window ends. The window is the item's time in a transaction, whatever
moto's queue of serialized calls takes, so conflicts depend on the clients' timing, as on AWS, not
on how loaded this machine is. While it holds an item,

* another ``TransactWriteItems`` that includes the item is cancelled
  (``TransactionCanceledException``, reason ``TransactionConflict`` at that action, ``None``
  elsewhere);
* a ``PutItem``/``UpdateItem``/``DeleteItem`` on the item fails with
  ``TransactionConflictException``;
* a ``TransactGetItems`` that includes the item is cancelled like a transaction;
* a repeat with the same ``ClientRequestToken`` fails with ``TransactionInProgressException``
  (which the SDKs retry); a repeat after it succeeded returns success without applying it again
  (``transactions.py``).

Throttling (throttling-diagnosing-workflow.html, bp-partition-key-design.html): each partition key
serves ``partition_write_units`` write units per second (AWS: 1,000 per partition), with one
second of burst. A write costs one unit per KB of the request's item or key (at least one), a
transactional write two. Beyond that, a single-item write fails as an on-demand table fails it
(``ThrottlingException`` with reason ``TableWriteKeyRangeThroughputExceeded``), a transaction is
cancelled with reason ``ThrottlingError`` at the hot item.
"""

import json
import math
import threading
import time

from localstack.aws.api.dynamodb import (
    ThrottlingException,
    TransactionCanceledException,
    TransactionConflictException,
    TransactionInProgressException,
)

from fnmesh_localstack import strict, transactions

TRANSACTION_CONFLICT = "transaction-conflict"
WRITE_CONFLICT = "transaction-conflict-exception"
TRANSACT_GET_CONFLICT = "transact-get-conflict"
TRANSACTION_IN_PROGRESS = "transaction-in-progress"
THROTTLED = "throttled"

CONFLICT_REASON = "Transaction is ongoing for the item."
WRITE_CONFLICT_MESSAGE = "Operation was rejected because there is an ongoing transaction for the item."
IN_PROGRESS_MESSAGE = "The transaction with the given request token is already in progress."
THROTTLING_MESSAGE = (
    "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling "
    "your table or index so please try again shortly. If exceptions persist, check if you have a hot key: "
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html"
)
WRITE_KEY_RANGE_THROTTLED = "TableWriteKeyRangeThroughputExceeded"


def _canonical(value) -> str:
    """JSON of request values; binary attributes (bytes) as their repr."""
    return json.dumps(value, sort_keys=True, default=repr)


class Target:
    """One item a request writes or reads: its identity, its partition and its write units."""

    def __init__(self, table, key_source: dict, units: int) -> None:
        hash_value = key_source[table.hash_key_attr]
        key = {table.hash_key_attr: hash_value}
        if table.range_key_attr:
            key[table.range_key_attr] = key_source[table.range_key_attr]
        self.table_arn = table.table_arn
        self.table_name = table.name
        self.item = (table.table_arn, _canonical(key))
        self.partition = (table.table_arn, _canonical(hash_value))
        self.units = units

    def describe(self) -> str:
        return f"{self.table_name} {self.item[1]}"


def _write_units(request: dict) -> int:
    """One unit per KB of what the request writes (its item, or its key and values), at least 1."""
    body = {name: request.get(name) for name in ("Item", "Key", "ExpressionAttributeValues")}
    return max(1, math.ceil(len(_canonical(body)) / 1024))


def _target(context, request: dict, key_field: str, units_factor: int = 1) -> Target:
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[context.account_id][context.region].get_table(request["TableName"])
    return Target(table, request[key_field], _write_units(request) * units_factor)


class ItemHolds:
    """Items held by ongoing transactions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders: dict[tuple, object] = {}

    def take(self, items: list[tuple], owner: object) -> list[int]:
        """Holds every item for ``owner``, or none: returns the indexes of items held by others."""
        with self._lock:
            taken = [index for index, item in enumerate(items) if item in self._holders]
            if not taken:
                for item in items:
                    self._holders[item] = owner
            return taken

    def held(self, items: list[tuple]) -> list[int]:
        with self._lock:
            return [index for index, item in enumerate(items) if item in self._holders]

    def release(self, items: list[tuple], owner: object) -> None:
        with self._lock:
            for item in items:
                if self._holders.get(item) is owner:
                    del self._holders[item]


class PartitionCapacity:
    """Write units per partition key: token buckets refilled at the configured rate per second,
    holding at most one second's worth. A bucket untouched for a second is full again, the same as
    no bucket: those are dropped now and then, so the table of buckets stays as small as the set of
    keys written in the last second."""

    PRUNE_EVERY = 4096

    def __init__(self, units_per_second: float) -> None:
        self.rate = units_per_second
        self._lock = threading.Lock()
        self._buckets: dict[tuple, tuple[float, float]] = {}  # partition -> (units, at)
        self._spends = 0

    def spend(self, targets: list[Target]) -> list[int]:
        """Spends every target's units, or none: returns the indexes of targets whose partition
        has too few units left."""
        now = time.monotonic()
        with self._lock:
            needed: dict[tuple, int] = {}
            for target in targets:
                needed[target.partition] = needed.get(target.partition, 0) + target.units
            available = {}
            for partition in needed:
                units, at = self._buckets.get(partition, (self.rate, now))
                available[partition] = min(self.rate, units + (now - at) * self.rate)
            short = [index for index, target in enumerate(targets) if needed[target.partition] > available[target.partition]]
            if not short:
                for partition, units in needed.items():
                    self._buckets[partition] = (available[partition] - units, now)
            self._spends += 1
            if self._spends % self.PRUNE_EVERY == 0:
                for partition in [p for p, (_, at) in self._buckets.items() if now - at >= 1.0]:
                    del self._buckets[partition]
            return short


class StrictDynamoDB:
    def __init__(self, settings: strict.StrictSettings) -> None:
        self.window_seconds = settings.transaction_window_ms / 1000
        self.holds = ItemHolds()
        self.capacity = PartitionCapacity(settings.partition_write_units)
        self._tokens_lock = threading.Lock()
        self._tokens_in_progress: set[str] = set()

    # --- single-item writes ----------------------------------------------------------------------

    def single_write(self, handler, key_field: str):
        def strict_single_write(context, request):
            try:
                target = _target(context, request, key_field)
            except Exception:  # no such table, a key attribute missing: moto answers as AWS does
                return handler(context, request)
            if self.holds.held([target.item]):
                strict.ADVERSITIES.record(WRITE_CONFLICT, f"{context.operation.name} on {target.describe()}")
                raise TransactionConflictException(WRITE_CONFLICT_MESSAGE)
            if self.capacity.spend([target]):
                strict.ADVERSITIES.record(THROTTLED, f"{context.operation.name} on {target.describe()}")
                raise ThrottlingException(
                    THROTTLING_MESSAGE,
                    throttlingReasons=[{"reason": WRITE_KEY_RANGE_THROTTLED, "resource": target.table_arn}],
                )
            return handler(context, request)

        return strict_single_write

    # --- transactions ----------------------------------------------------------------------------

    def transact_write_items(self, handler):
        def strict_transact_write_items(context, request):
            token = request.get("ClientRequestToken")
            with self._tokens_lock:
                if token and token in self._tokens_in_progress:
                    strict.ADVERSITIES.record(TRANSACTION_IN_PROGRESS, f"token {token}")
                    raise TransactionInProgressException(IN_PROGRESS_MESSAGE)
            if token and transactions.token_succeeded(token):
                return handler(context, request)  # answered from the token: no items touched
            try:
                targets = [
                    _target(context, body, "Item" if action == "Put" else "Key", units_factor=2)
                    for entry in request["TransactItems"]
                    for action, body in entry.items()
                ]
            except Exception:  # malformed: moto refuses it as AWS does
                return handler(context, request)
            items = [target.item for target in targets]
            owner = object()
            with self._tokens_lock:
                if token and token in self._tokens_in_progress:  # arrived meanwhile
                    strict.ADVERSITIES.record(TRANSACTION_IN_PROGRESS, f"token {token}")
                    raise TransactionInProgressException(IN_PROGRESS_MESSAGE)
                conflicts = self.holds.take(items, owner)
                if not conflicts and token:
                    self._tokens_in_progress.add(token)
            if conflicts:
                strict.ADVERSITIES.record(TRANSACTION_CONFLICT, f"on {targets[conflicts[0]].describe()}")
                raise cancelled(len(targets), conflicts, "TransactionConflict", CONFLICT_REASON)
            held_at = time.monotonic()
            try:
                short = self.capacity.spend(targets)
                if short:  # refused up front, as a throttled request is: no window
                    strict.ADVERSITIES.record(THROTTLED, f"TransactWriteItems on {targets[short[0]].describe()}")
                    raise cancelled(len(targets), short, "ThrottlingError", THROTTLING_MESSAGE)
                try:
                    # Conditions evaluated and writes applied (or all cancelled) at once; the items
                    # stay held for the rest of the window, whatever moto's queue took.
                    return handler(context, request)
                finally:
                    time.sleep(max(0.0, self.window_seconds - (time.monotonic() - held_at)))
            finally:
                with self._tokens_lock:
                    self._tokens_in_progress.discard(token)
                    self.holds.release(items, owner)

        return strict_transact_write_items

    def transact_get_items(self, handler):
        def strict_transact_get_items(context, request):
            try:
                targets = [_target(context, entry["Get"], "Key") for entry in request["TransactItems"]]
            except Exception:
                return handler(context, request)
            conflicts = self.holds.held([target.item for target in targets])
            if conflicts:
                strict.ADVERSITIES.record(TRANSACT_GET_CONFLICT, f"on {targets[conflicts[0]].describe()}")
                raise cancelled(len(targets), conflicts, "TransactionConflict", CONFLICT_REASON)
            return handler(context, request)

        return strict_transact_get_items

    def wrap(self, dispatch_table: dict) -> dict:
        wrapped = dict(dispatch_table)
        wrapped["PutItem"] = self.single_write(dispatch_table["PutItem"], "Item")
        wrapped["UpdateItem"] = self.single_write(dispatch_table["UpdateItem"], "Key")
        wrapped["DeleteItem"] = self.single_write(dispatch_table["DeleteItem"], "Key")
        wrapped["TransactWriteItems"] = self.transact_write_items(dispatch_table["TransactWriteItems"])
        wrapped["TransactGetItems"] = self.transact_get_items(dispatch_table["TransactGetItems"])
        return wrapped


def cancelled(size: int, indexes: list[int], code: str, message: str) -> TransactionCanceledException:
    reasons = [{"Code": code, "Message": message} if index in indexes else {"Code": "None"} for index in range(size)]
    codes = ", ".join(reason["Code"] for reason in reasons)
    return TransactionCanceledException(
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
        CancellationReasons=reasons,
    )
