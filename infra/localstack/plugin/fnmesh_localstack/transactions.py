"""TransactWriteItems for moto without copying whole tables.

moto's own ``transact_write_items`` deep-copies every table the transaction touches before it
starts, so that it can roll back. Its cost grows with the size of the table: on fnmesh's mesh
table, which collects lock items, task markers and channel claim markers, a transaction of ten
markers slowed from milliseconds to a large fraction of a second as the table grew.

This implementation keeps the same semantics with work proportional to the transaction:

1. check the request: at most 100 actions, one action per item, no item twice;
2. evaluate every condition against the current items (nothing written yet); if any fails,
   cancel with per-action reasons (``ALL_OLD`` items included where asked) — no rollback needed;
3. apply the actions in order, keeping each touched item's previous state; if an action fails
   (e.g. an invalid update expression), restore those items in reverse order and re-raise.

It relies on every DynamoDB operation being serialized (see ``dynamodb.py``): nothing else can
change the items between the checks and the writes.

It also honours ``ClientRequestToken`` as DynamoDB does (moto ignores it): a transaction repeated
with the token of one that succeeded in the last 10 minutes succeeds again without being applied
again, and one repeated with the same token but other items fails with
``IdempotentParameterMismatchException``. The AWS SDKs fill the token in and keep it across their
retries, so a retry after a lost answer does not apply a transaction twice.
"""

import json
import time
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ERROR_TYPE_PREFIX,
    DynamodbException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)

ACTIONS = ("ConditionCheck", "Put", "Delete", "Update")
TOKEN_TTL_SECONDS = 600
# token -> (when it succeeded, monotonic seconds; its items, as canonical JSON)
_succeeded: dict[str, tuple[float, str]] = {}


class IdempotentParameterMismatchException(DynamodbException):
    error_type = ERROR_TYPE_PREFIX + "IdempotentParameterMismatchException"

    def __init__(self) -> None:
        super().__init__(
            IdempotentParameterMismatchException.error_type,
            message="The request uses the same client token as a previous, but non-identical request.",
        )


def _key_of(backend, action: str, request: dict[str, Any]) -> dict[str, Any]:
    if action != "Put":
        return request["Key"]
    table = backend.get_table(request["TableName"])
    attributes = request["Item"]
    key = {table.hash_key_attr: attributes[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attributes[table.range_key_attr]
    return key


def _condition_holds(request: dict[str, Any], current) -> bool:
    expression = request.get("ConditionExpression")
    if expression is None:
        return True
    condition = get_filter_expression(
        expression, request.get("ExpressionAttributeNames"), request.get("ExpressionAttributeValues")
    )
    return condition.expr(current)


def _apply(backend, action: str, request: dict[str, Any], key: dict[str, Any]) -> None:
    table_name = request["TableName"]
    if action == "Put":
        backend.put_item(table_name, request["Item"])
    elif action == "Delete":
        backend.delete_item(table_name, key)
    elif action == "Update":
        backend.update_item(
            table_name,
            key,
            update_expression=request["UpdateExpression"],
            expression_attribute_names=request.get("ExpressionAttributeNames"),
            expression_attribute_values=request.get("ExpressionAttributeValues"),
        )


def _restore(backend, table_name: str, key: dict[str, Any], previous) -> None:
    if previous is None:
        backend.delete_item(table_name, key)
    else:
        backend.put_item(table_name, previous)


def transact_write_items(self, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    steps = []
    seen = set()
    for entry in transact_items:
        if len(entry) != 1:
            raise TransactWriteSingleOpException()
        action, request = next(iter(entry.items()))
        if action not in ACTIONS:
            raise ValueError(f"Unsupported transaction operation {action}")
        key = _key_of(self, action, request)
        identity = (request["TableName"], repr(sorted((name, repr(value)) for name, value in key.items())))
        if identity in seen:
            raise MultipleTransactionsException()
        seen.add(identity)
        steps.append((action, request, key))

    reasons = []
    for action, request, key in steps:
        current = self.get_item(request["TableName"], key)
        if _condition_holds(request, current):
            reasons.append((None, None, None))
            continue
        old = None
        if request.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
            old = current.to_json()["Attributes"]
        reasons.append(("ConditionalCheckFailed", "The conditional request failed", old))
    if any(code is not None for code, _, _ in reasons):
        raise TransactionCanceledException(reasons)

    undo = []
    try:
        for action, request, key in steps:
            if action == "ConditionCheck":
                continue
            previous = self.get_item(request["TableName"], key)
            undo.append((request["TableName"], key, previous.to_json()["Attributes"] if previous else None))
            _apply(self, action, request, key)
    except Exception:
        for table_name, key, previous in reversed(undo):
            _restore(self, table_name, key, previous)
        raise


def token_succeeded(token: str) -> bool:
    """Whether a transaction with this token succeeded in the last 10 minutes."""
    previous = _succeeded.get(token)
    return previous is not None and time.monotonic() - previous[0] <= TOKEN_TTL_SECONDS


def _with_client_request_token(handle):
    """Wraps moto's TransactWriteItems request handler with DynamoDB's idempotency tokens."""

    def transact_write_items_once(self) -> str:
        token = self.body.get("ClientRequestToken")
        if token is None:
            return handle(self)
        items = json.dumps(self.body["TransactItems"], sort_keys=True)
        now = time.monotonic()
        # Tokens are kept in the order they succeeded (every call runs under moto's lock), so the
        # expired ones are the oldest: dropped from the front, not found by a scan of them all.
        while _succeeded:
            oldest = next(iter(_succeeded))
            if now - _succeeded[oldest][0] <= TOKEN_TTL_SECONDS:
                break
            del _succeeded[oldest]
        previous = _succeeded.get(token)
        if previous is not None:
            if previous[1] != items:
                raise IdempotentParameterMismatchException()
            return json.dumps({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
        response = handle(self)
        _succeeded[token] = (now, items)
        return response

    transact_write_items_once.fnmesh_tokens = True
    return transact_write_items_once


def install() -> None:
    """Replaces moto's transact_write_items, and adds client request tokens (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    DynamoDBBackend.transact_write_items = transact_write_items
    if not getattr(DynamoHandler.transact_write_items, "fnmesh_tokens", False):
        DynamoHandler.transact_write_items = _with_client_request_token(DynamoHandler.transact_write_items)
