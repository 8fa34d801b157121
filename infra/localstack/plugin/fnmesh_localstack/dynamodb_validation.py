"""DynamoDB's request validation: the constraints of its API model, worded as DynamoDB words them.

DynamoDB checks every request against its model before it looks at any table: required members,
enum values, lengths and numeric ranges. A violation fails the whole request with one
``ValidationException`` listing each violation:

    1 validation error detected: Value '[]' at 'parameters' failed to satisfy constraint:
    Member must have length greater than or equal to 1

Paths name members in lower camel case (``updateKinesisStreamingConfiguration.approximate...``),
list elements as ``keySchema.1.member``. LocalStack's parser checks none of this and moto only
some of it, so without this an SDK with client-side validation off (or a non-SDK client) could
send what AWS refuses. Attribute values (items, keys, expression values) have no constraints in
the model and are not walked; nor are map values (whose paths AWS spells differently).
"""

from localstack.aws.api import CommonServiceException

# Shapes with nothing to check inside, skipped for speed (items can be large).
_OPAQUE = {"AttributeValue", "AttributeMap", "PutItemInputAttributeMap", "Key", "ExpressionAttributeValueMap"}


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _shown(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "'[" + ", ".join(str(element) for element in value) + "]'"
    return f"'{value}'"


def _check(shape, value, path: str, found: list) -> None:
    if value is None or shape.name in _OPAQUE:
        return
    kind = shape.type_name
    metadata = shape.metadata
    if kind == "structure" and isinstance(value, dict):
        for name in shape.required_members:
            if value.get(name) is None:
                found.append((None, _join(path, name), "Member must not be null"))
        for name, member in shape.members.items():
            if name in value:
                _check(member, value[name], _join(path, name), found)
        return
    if kind in ("list", "map", "string", "blob") and hasattr(value, "__len__"):
        if "min" in metadata and len(value) < metadata["min"]:
            found.append((value, path, f"Member must have length greater than or equal to {metadata['min']}"))
        elif "max" in metadata and len(value) > metadata["max"]:
            found.append((value, path, f"Member must have length less than or equal to {metadata['max']}"))
    if kind in ("integer", "long") and isinstance(value, int):
        if "min" in metadata and value < metadata["min"]:
            found.append((value, path, f"Member must have value greater than or equal to {metadata['min']}"))
        elif "max" in metadata and value > metadata["max"]:
            found.append((value, path, f"Member must have value less than or equal to {metadata['max']}"))
    if kind == "string" and getattr(shape, "enum", None) and value not in shape.enum:
        found.append((value, path, f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"))
    if kind == "list" and isinstance(value, list):
        for index, element in enumerate(value, start=1):
            _check(shape.member, element, f"{path}.{index}.member", found)


def _join(path: str, name: str) -> str:
    return f"{path}.{_lower_first(name)}" if path else _lower_first(name)


def violations(input_shape, request: dict) -> list[str]:
    """What in the request breaks the operation's input constraints, one sentence each."""
    found: list = []
    if input_shape is not None:
        _check(input_shape, request, "", found)
    return [f"Value {_shown(value)} at '{path}' failed to satisfy constraint: {rule}" for value, path, rule in found]


def validate(context, request: dict) -> None:
    """Raises DynamoDB's ValidationException if the request breaks its operation's model."""
    problems = violations(context.operation.input_shape, request)
    if problems:
        count = len(problems)
        raise CommonServiceException(
            "ValidationException",
            f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(problems),
        )
