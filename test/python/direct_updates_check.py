"""Direct updates (infra/localstack/plugin/fnmesh_localstack/direct_updates.py) against moto's
own path: random update expressions, of the common shape and outside it, applied to random items
both ways; the items after, and the errors, must be the same. Run by
test/integration/directUpdates.test.ts with the local cloud's Python; prints one JSON line.

Where an update would pass the 400 KB limit, moto's own path may leave the item half updated
(it checks as each attribute is set); DynamoDB leaves it unchanged, and so must the direct way.
"""

import copy
import json
import random
import sys

from moto.dynamodb.models import dynamodb_backends

from fnmesh_localstack import direct_updates, fast_path, transactions

transactions.install()
fast_path._update_expressions_parsed_once()
fast_path._conditions_parsed_once()
fast_path._items_sized_once()

CASES = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 17)
backend = dynamodb_backends["000000000000"]["us-east-1"]
TABLE = "direct-updates-check"
backend.create_table(
    TABLE,
    schema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    throughput=None,
    attr=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
    global_indexes=[
        {
            "IndexName": "by-g",
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
    indexes=None,
    streams=None,
    billing_mode="PAY_PER_REQUEST",
    sse_specification=None,
    tags=[],
    deletion_protection_enabled=False,
    warm_throughput=None,
)
ATTRIBUTES = ["a", "b", "c", "d", "g", "pk", "a.b"]


def random_value():
    kind = rng.choice(["N"] * 6 + ["Ndec", "S", "S", "S", "SS", "SS", "NS", "BOOL", "NULL"] + ["L", "emptySS", "big", "SSdup", "Nbad"])
    if kind == "N":
        return {"N": str(rng.randint(-5, 5))}
    if kind == "Ndec":
        return {"N": rng.choice(["1.5", "0.25", "-2.0", "3.10"])}
    if kind == "S":
        return {"S": rng.choice(["", "x", "held", "done"])}
    if kind == "SS":
        return {"SS": rng.sample(["p", "q", "r", "s"], rng.randint(1, 3))}
    if kind == "NS":
        return {"NS": rng.sample(["1", "2", "3.5"], rng.randint(1, 2))}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if kind == "NULL":
        return {"NULL": True}
    if kind == "L":
        return {"L": [{"S": "x"}, {"N": "1"}]}
    if kind == "emptySS":
        return {"SS": []}
    if kind == "big":
        return {"S": "x" * 250_000}
    if kind == "SSdup":
        return {"SS": ["p", "p"]}
    return {"N": "not-a-number"}


def random_item(key):
    item = {"pk": {"S": key}}
    for name in rng.sample(ATTRIBUTES[:5], rng.randint(0, 4)):
        item[name] = random_value()
        if item[name] in ({"SS": []}, {"SS": ["p", "p"]}, {"N": "not-a-number"}) or len(str(item[name])) > 1000:
            item[name] = {"N": "1"}  # a start item is a valid one
        if name == "g":
            item[name] = {"S": "g"}
    if rng.random() < 0.1:
        item["c"] = {"S": "z" * 250_000}  # near the limit: one large value more passes it
    return item


def random_update():
    names, values, counter = {}, {}, [0]

    def name():
        attribute = rng.choice(ATTRIBUTES[:4]) if rng.random() < 0.9 else rng.choice(ATTRIBUTES[4:])
        if rng.random() < 0.03:
            return "#missing"
        placeholder = f"#n{counter[0]}"
        counter[0] += 1
        names[placeholder] = attribute
        if rng.random() < 0.05:  # a nested path: outside the direct shape
            inner = f"#n{counter[0]}"
            counter[0] += 1
            names[inner] = "b"
            return f"{placeholder}.{inner}"
        return placeholder

    def value():
        if rng.random() < 0.03:
            return ":missing"
        placeholder = f":v{counter[0]}"
        counter[0] += 1
        values[placeholder] = random_value()
        return placeholder

    def operand(depth=0):
        choice = rng.random()
        if choice < 0.4:
            return value()
        if choice < 0.6:
            return name()
        if choice < 0.75 and depth == 0:
            return f"if_not_exists({name()}, {operand(1)})"
        if choice < 0.95 and depth == 0:
            return f"{operand(1)} {rng.choice(['+', '-'])} {operand(1)}"
        if depth == 0:
            return f"list_append({name()}, {value()})"
        return value()

    clauses = []
    kinds = ["SET", "REMOVE", "ADD"] if rng.random() < 0.8 else ["SET", "REMOVE", "ADD", "DELETE"]
    for clause in rng.sample(kinds, rng.choice([1, 1, 2, 2, 3])):
        count = rng.choice([1, 1, 2, 3])
        if clause == "SET":
            clauses.append("SET " + ", ".join(f"{name()} = {operand()}" for _ in range(count)))
        elif clause == "REMOVE":
            clauses.append("REMOVE " + ", ".join(name() for _ in range(count)))
        else:
            clauses.append(f"{clause} " + ", ".join(f"{name()} {value()}" for _ in range(count)))
    return " ".join(clauses), names, values


def outcome(key, expression, names, values):
    try:
        backend.update_item(
            TABLE,
            {"pk": {"S": key}},
            update_expression=expression,
            attribute_updates=None,
            expression_attribute_names=names,
            expression_attribute_values=values,
            expected=None,
            condition_expression=None,
        )
        error = None
    except Exception as err:  # noqa: BLE001: the error is what is compared
        error = f"{type(err).__name__}: {getattr(err, 'message', str(err))}"
    item = backend.get_item(TABLE, {"pk": {"S": key}})
    return error, (item.to_json()["Attributes"] if item is not None else None)


counts = {"cases": 0, "direct": 0, "errors": 0, "tooLarge": 0}
mismatches = []
for case in range(CASES):
    expression, names, values = random_update()
    start = random_item(f"start-{case}")
    results = {}
    exists = rng.random() < 0.9  # else the update makes the item
    for mode in (False, True):
        key = f"{'direct' if mode else 'moto'}-{case}"
        if exists:
            backend.put_item(TABLE, {**copy.deepcopy(start), "pk": {"S": key}})
        direct_updates.enabled = mode
        results[mode] = outcome(key, expression, copy.deepcopy(names), copy.deepcopy(values))
    direct_updates.enabled = True
    (moto_error, moto_item), (direct_error, direct_item) = results[False], results[True]
    counts["cases"] += 1
    if moto_error:
        counts["errors"] += 1
    plan = direct_updates.plan_of(expression)
    if plan is not None and not direct_error:
        counts["direct"] += 1
    if moto_item is not None:
        moto_item = {**moto_item, "pk": None}
    if direct_item is not None:
        direct_item = {**direct_item, "pk": None}
    if moto_error and "ItemSizeToUpdateTooLarge" in moto_error:
        counts["tooLarge"] += 1
        # Refused: the item as it was (an update of a missing item leaves its key, both ways), or
        # as moto left it where the update was left to moto.
        # moto also counts a replaced value twice (old and new), where DynamoDB counts the item
        # as it would be: an update that fits may pass the direct way.
        unchanged = {**start, "pk": None} if exists else {"pk": None}
        refused_alike = direct_error == moto_error and direct_item in (unchanged, moto_item)  # moto's where left to it
        fits = direct_error is None and len(json.dumps(direct_item)) < 400_000
        if not (refused_alike or fits):
            mismatches.append({"expression": expression, "moto": moto_error, "direct": [direct_error, str(direct_item)[:300]], "start": str(start)[:300], "exists": exists})
        continue
    if (moto_error, moto_item) != (direct_error, direct_item):
        mismatches.append(
            {"expression": expression, "names": names, "moto": [moto_error, moto_item], "direct": [direct_error, direct_item]}
        )

# A copied item is equal to its original and independent of it (sets, lists and maps).
backend.put_item(
    TABLE,
    {"pk": {"S": "copy"}, "s": {"SS": ["p"]}, "l": {"L": [{"S": "x"}, {"SS": ["q"]}]}, "m": {"M": {"k": {"NS": ["1"]}}}},
)
original = backend.get_item(TABLE, {"pk": {"S": "copy"}})
before = json.dumps(original.to_json(), sort_keys=True)
clone = copy.deepcopy(original)
copies_equal = clone is not original and json.dumps(clone.to_json(), sort_keys=True) == before
clone.attrs["s"].value.append("changed")
clone.attrs["l"].value[1].value.append("changed")
clone.attrs["m"].value["k"].value.append("9")
copies_independent = json.dumps(original.to_json(), sort_keys=True) == before

print(json.dumps({**counts, "mismatches": mismatches[:5], "mismatchCount": len(mismatches), "copiesEqual": copies_equal, "copiesIndependent": copies_independent}))
