"""Update expressions of the common shape applied directly, without moto's tree walkers.

moto validates an update expression by walking its tree with ten processors, one after another
(names, values, functions, paths, operations, types, keys, overlaps, counts), and then walks it
again to apply it: about 1.3 ms of CPU per update, so a transaction of 40 marker updates cost
50 ms. Nearly every update a program sends has one shape: top-level attributes named by
placeholders, set to a value, to another attribute, to ``if_not_exists``, or to a sum or a
difference of those; removed; or added to (a number, a set). Such an expression is read once per
distinct text (with the tree moto parses once per text, see ``fast_path.py``) into a plan, and
each call applies its plan to the item in a few dictionary operations.

A call takes the direct way only when it is sure to succeed with moto's result:

* every placeholder is defined, and every value is a plain scalar or a non-empty set;
* no attribute is written twice, and none written or read is a key attribute of the table or of
  an index;
* every attribute read exists (``if_not_exists`` aside), ``+``/``-`` join two numbers, and
  ``ADD`` meets a number or a set of its own type (or nothing).

Anything else (nested paths, ``list_append``, ``DELETE``, a missing attribute, a type mismatch, a
syntax moto refuses) goes through moto's validator unchanged, and moto answers it, errors
included. Numbers are added and subtracted by moto's own arithmetic (``DynamoType``), so the
stored text of a number is what moto would store. An update that would take an item past the
400 KB limit is refused and leaves the item as it was. In one case the direct way answers as
DynamoDB where moto does not: the limit is judged on the item as the update would leave it, where
moto counts a replaced value as well as its replacement (and may leave an item half updated).

``enabled`` switches it off for a comparison (``test/python/direct_updates_check.py`` runs both
ways over random updates and requires the same items and the same errors).
"""

import copy
import re
from decimal import Decimal, InvalidOperation

from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.utilities import bytesize

# Switched off for a comparison with moto's own path; on in service.
enabled = True

_TOKEN = re.compile(r"\s*(?:(#[A-Za-z0-9_]+)|(:[A-Za-z0-9_]+)|([A-Za-z_][A-Za-z0-9_]*)|([=+\-,()]))")
_SCALARS = {"S", "N", "B", "BOOL", "NULL"}
_SETS = {"SS", "NS", "BS"}
_ITEM_LIMIT = 405_000  # moto's (LimitedSizeDict)


def _tokens(text: str):
    text = text.strip()  # each token's pattern takes the spaces before it
    tokens, at = [], 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            return None  # '.', '[', or anything else outside the shape
        tokens.append(match.group(match.lastindex))
        at = match.end()
    return tokens


def plan_of(text: str):
    """The plan of an update expression of the common shape, or None: a list of
    ("SET", name, operand) / ("REMOVE", name) / ("ADD", name, value) in the text's order, where an
    operand is ("value", p) | ("path", p) | ("if_not_exists", name, operand) | ("+"|"-", a, b)."""
    tokens = _tokens(text)
    if not tokens:
        return None
    at = 0

    def peek():
        return tokens[at] if at < len(tokens) else None

    def take(kind=None):
        nonlocal at
        token = peek()
        if token is None or (kind == "name" and token[0] != "#") or (kind == "value" and token[0] != ":"):
            raise ValueError(token)
        if kind not in (None, "name", "value") and token != kind:
            raise ValueError(token)
        at += 1
        return token

    def single():
        token = peek()
        if token is None:
            raise ValueError(token)
        if token[0] == ":":
            return ("value", take())
        if token[0] == "#":
            return ("path", take())
        if token == "if_not_exists":
            take()
            take("(")
            name = take("name")
            take(",")
            fallback = single()
            if fallback[0] == "if_not_exists":
                raise ValueError(token)
            take(")")
            return ("if_not_exists", name, fallback)
        raise ValueError(token)

    def operand():
        left = single()
        if peek() in ("+", "-"):
            sign = take()
            return (sign, left, single())
        return left

    actions, clauses = [], set()
    try:
        while peek() is not None:
            clause = take().upper()
            if clause not in ("SET", "REMOVE", "ADD") or clause in clauses:
                return None
            clauses.add(clause)
            while True:
                name = take("name")
                if clause == "SET":
                    take("=")
                    actions.append(("SET", name, operand()))
                elif clause == "REMOVE":
                    actions.append(("REMOVE", name))
                else:
                    actions.append(("ADD", name, take("value")))
                if peek() != ",":
                    break
                take(",")
    except ValueError:
        return None
    return actions


def _value(placeholder, values):
    """A plain value given by the request, as moto's type; None where moto must judge it."""
    given = (values or {}).get(placeholder)
    if not isinstance(given, dict) or len(given) != 1:
        return None
    (kind, content), = given.items()
    if kind in _SETS:
        if not isinstance(content, list) or not content or len(set(map(str, content))) != len(content):
            return None
        if kind == "NS" and not all(_is_number(number) for number in content):
            return None
        return DynamoType({kind: list(content)})
    if kind not in _SCALARS or (kind == "N" and not _is_number(content)):
        return None
    return DynamoType({kind: content})


def _is_number(text) -> bool:
    try:
        return isinstance(text, str) and Decimal(text).is_finite()
    except InvalidOperation:
        return False


def _evaluate(operand, names, values, attrs, reads):
    kind = operand[0]
    if kind == "value":
        return _value(operand[1], values)
    if kind in ("path", "if_not_exists"):
        name = (names or {}).get(operand[1])
        if name is None:
            return None
        reads.add(name)
        current = attrs.get(name)
        if current is not None:
            return copy.deepcopy(current)
        return _evaluate(operand[2], names, values, attrs, reads) if kind == "if_not_exists" else None
    left = _evaluate(operand[1], names, values, attrs, reads)
    right = _evaluate(operand[2], names, values, attrs, reads)
    if left is None or right is None or left.type != "N" or right.type != "N":
        return None
    return left + right if kind == "+" else left - right


def _placeholders(node):
    """Every placeholder in a plan or a part of it, evaluated or not."""
    for part in node if isinstance(node, (list, tuple)) else ():
        if isinstance(part, str) and part[:1] in ("#", ":"):
            yield part
        else:
            yield from _placeholders(part)


def changes_of(plan, names, values, item, table):
    """(attribute, new value or None to remove) per action, or None where moto must judge."""
    # moto checks every placeholder, also in a branch that is not evaluated.
    for placeholder in _placeholders(plan):
        if (placeholder[0] == "#" and placeholder not in (names or {})) or (
            placeholder[0] == ":" and _value(placeholder, values) is None
        ):
            return None

    keys = set(table.table_key_attrs) | {definition["AttributeName"] for definition in (table.attr or [])}
    attrs = item.attrs
    written, reads, sets_added, changes = set(), set(), set(), []
    for action in plan:
        name = (names or {}).get(action[1])
        if name is None or name in written or name in keys:
            return None
        written.add(name)
        if action[0] == "REMOVE":
            changes.append((name, None))
            continue
        if action[0] == "SET":
            value = _evaluate(action[2], names, values, attrs, reads)
            if value is None:
                return None
            changes.append((name, value))
            continue
        addend = _value(action[2], values)
        current = attrs.get(name)
        if addend is None or (current is not None and current.type != addend.type):
            return None
        if addend.type == "N":
            changes.append((name, (current or DynamoType({"N": "0"})) + addend))
        elif addend.type in _SETS:
            sets_added.add(name)
            merged = list(current.value) if current is not None else []
            for member in addend.value:
                if member not in merged:
                    merged.append(member)
            changes.append((name, DynamoType({addend.type: merged})))
        else:
            return None
    # moto refuses an update that reads a key attribute too; and where SET reads an attribute
    # that ADD adds to as a set, moto's SET sees the set after the ADD (DynamoDB's, before):
    # both left to moto, so that the direct way never answers otherwise than moto.
    # Every name counts here, also one in a branch of if_not_exists that was not evaluated.
    operands = [action[2] for action in plan if action[0] == "SET"]
    reads |= {names[placeholder] for placeholder in _placeholders(operands) if placeholder[0] == "#"}
    if reads & keys or reads & sets_added:
        return None
    return changes


class DirectUpdate:
    """What the validator hands the executor when the update takes the direct way."""

    def __init__(self, changes):
        self.changes = changes

    def normalize(self) -> None:
        pass


def apply(changes, item) -> None:
    updated = dict(item.attrs)
    for name, value in changes:
        if value is None:
            updated.pop(name, None)
        else:
            updated[name] = value
    if sum(bytesize(name) + value.size() for name, value in updated.items()) > _ITEM_LIMIT:
        raise ItemSizeTooLarge  # before any change: the item stays as it was
    dict.clear(item.attrs)
    dict.update(item.attrs, updated)  # LimitedSizeDict's own check was made above, once


def install(plans: dict) -> None:
    """Routes moto's update_item through the direct way where ``plans`` (id of a parsed tree ->
    its plan, kept by fast_path beside the tree) has a plan for the expression."""
    import moto.dynamodb.models as models

    validator_class = models.UpdateExpressionValidator
    executor_class = models.UpdateExpressionExecutor

    def validator(tree, expression_attribute_names=None, expression_attribute_values=None, item=None, table=None):
        plan = plans.get(id(tree)) if enabled else None
        if plan is not None and item is not None and table is not None:
            changes = changes_of(plan, expression_attribute_names, expression_attribute_values, item, table)
            if changes is not None:
                return _Validated(DirectUpdate(changes))
        return validator_class(
            tree,
            expression_attribute_names=expression_attribute_names,
            expression_attribute_values=expression_attribute_values,
            item=item,
            table=table,
        )

    def executor(validated, item, expression_attribute_names):
        if isinstance(validated, DirectUpdate):
            return _Applied(validated.changes, item)
        return executor_class(validated, item, expression_attribute_names)

    models.UpdateExpressionValidator = validator
    models.UpdateExpressionExecutor = executor


class _Validated:
    def __init__(self, update):
        self.update = update

    def validate(self):
        return self.update


class _Applied:
    def __init__(self, changes, item):
        self.changes, self.item = changes, item

    def execute(self) -> None:
        apply(self.changes, self.item)
