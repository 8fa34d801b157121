"""DynamoDB as AWS answers it, on top of moto.

moto implements DynamoDB's semantics; its answers differ from AWS's in shape and wording. This
module wraps the provider's dispatch table (inside strict mode, outside the lock that serializes
moto, see ``dynamodb.py``) and makes each answer AWS's, as the DynamoDB API Reference documents it
and as AWS's recorded answers (LocalStack's AWS-validated snapshots) show:

* requests are checked against the API model first (``dynamodb_validation.py``);
* ``ConsumedCapacity`` only when ``ReturnConsumedCapacity`` asks for it, ``ItemCollectionMetrics``
  only when ``ReturnItemCollectionMetrics`` does, no empty ``Attributes``;
* table descriptions as AWS gives them (``TableId``, GSI ``IndexArn``/sizes, ``BillingModeSummary``
  only for on-demand tables, no empty index lists, the state a Create/DeleteTable answer reports);
* server-side encryption without a key names the account's AWS-managed DynamoDB key, in KMS;
* AWS's wording for the errors that differ (unknown tables, on-demand capacity, batch keys);
* PartiQL: statements rewritten into the forms moto's parser takes (numbers, spacing, DELETE
  parameters), an INSERT over an existing key refused, statements moto cannot parse refused as
  ValidationException, ``BatchExecuteStatement`` answering per statement;
* the operations moto lacks that only keep table settings (``dynamodb_settings.py``).
"""

import re
import uuid

from localstack.aws.api import CommonServiceException, ServiceException

from fnmesh_localstack import dynamodb_settings
from fnmesh_localstack.dynamodb_validation import validate


def _backend(context):
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[context.account_id][context.region]


def find_table(context, name: str):
    """moto's table by name or ARN, or None."""
    try:
        return _backend(context).get_table(name)
    except Exception:
        return None


def table_id(table) -> str:
    """The table's TableId: a UUID fixed when fnmesh first sees the table (moto has none)."""
    if getattr(table, "fnmesh_table_id", None) is None:
        table.fnmesh_table_id = str(uuid.uuid4())
    return table.fnmesh_table_id


def moto_with(context, request: dict) -> dict:
    """moto's answer to ``request`` in place of the one the client sent (the caller holds the lock)."""
    from localstack.services.moto import call_moto_with_request

    return call_moto_with_request(context, request)


def table_not_found(name: str) -> ServiceException:
    return CommonServiceException("ResourceNotFoundException", f"Requested resource not found: Table: {name} not found")


def validation_error(message: str) -> ServiceException:
    return CommonServiceException("ValidationException", message)


def not_well_formed(error: Exception) -> str:
    """AWS's words for a statement it cannot parse (here: one moto's parser cannot)."""
    return f"Statement wasn't well formed, can't be processed: {str(error) or 'unsupported syntax'}"


# --- capacity, metrics, attributes ---------------------------------------------------------------


def _only_what_was_asked(request: dict, response):
    if not isinstance(response, dict):
        return response
    if request.get("ReturnConsumedCapacity") not in ("TOTAL", "INDEXES"):
        response.pop("ConsumedCapacity", None)
    if request.get("ReturnItemCollectionMetrics") != "SIZE":
        response.pop("ItemCollectionMetrics", None)
    if response.get("Attributes") == {}:
        response.pop("Attributes")
    return response


# --- table descriptions --------------------------------------------------------------------------


def _describe(table, description: dict, operation: str, request: dict) -> dict:
    """Reshapes moto's table description as AWS answers ``operation``."""
    description = dict(description)
    description["TableId"] = table_id(table)
    on_demand = (description.get("BillingModeSummary") or {}).get("BillingMode") == "PAY_PER_REQUEST"
    if not on_demand:
        description.pop("BillingModeSummary", None)
    elif operation == "DescribeTable":
        since = getattr(table, "fnmesh_on_demand_since", None) or description.get("CreationDateTime")
        description["BillingModeSummary"] = {"BillingMode": "PAY_PER_REQUEST", "LastUpdateToPayPerRequestDateTime": since}
    for key in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
        indexes = [dict(index) for index in description.pop(key, None) or []]
        for index in indexes:
            index["IndexArn"] = f"{description['TableArn']}/index/{index['IndexName']}"
            index.setdefault("IndexSizeBytes", 0)  # as TableSizeBytes: moto does not measure
            index.setdefault("ItemCount", 0)
            if key == "GlobalSecondaryIndexes":
                index["ProvisionedThroughput"] = {"NumberOfDecreasesToday": 0, **index.get("ProvisionedThroughput", {})}
        if indexes:  # AWS lists no empty index lists
            description[key] = indexes
    if operation == "CreateTable":
        # A new table is CREATING; warm throughput shows only where asked for, while it is applied.
        description["TableStatus"] = "CREATING"
        _warming(description, request.get("WarmThroughput"))
        requested = {index["IndexName"]: index for index in request.get("GlobalSecondaryIndexes") or []}
        for index in description.get("GlobalSecondaryIndexes", []):
            index["IndexStatus"] = "CREATING"
            _warming(index, requested.get(index["IndexName"], {}).get("WarmThroughput"))
    elif operation == "DeleteTable":
        description["TableStatus"] = "DELETING"
        for key in ("AttributeDefinitions", "KeySchema", "CreationDateTime", "WarmThroughput", "LocalSecondaryIndexes"):
            description.pop(key, None)
        for index in description.get("GlobalSecondaryIndexes", []):
            index.pop("WarmThroughput", None)
    sse = description.get("SSEDescription")
    if sse and getattr(table, "fnmesh_sse_disabling", False) and operation == "UpdateTable":
        description["SSEDescription"] = {**sse, "Status": "UPDATING"}
    return description


def _warming(description: dict, requested) -> None:
    if requested:
        description["WarmThroughput"] = {**description.get("WarmThroughput", {}), "Status": "UPDATING"}
    else:
        description.pop("WarmThroughput", None)


def create_table(context, request, call):
    if request.get("BillingMode") == "PAY_PER_REQUEST" and request.get("ProvisionedThroughput") is not None:
        raise validation_error(
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits "
            "can be specified when BillingMode is PAY_PER_REQUEST"
        )
    keyed = dynamodb_settings.with_sse_key(context, request)
    response = call(context, request) if keyed is request else moto_with(context, keyed)
    table = find_table(context, request["TableName"])
    if table is not None:
        response["TableDescription"] = _describe(table, response["TableDescription"], "CreateTable", request)
    return response


def describe_table(context, request, call):
    response = _named_table_call(context, request, call)
    table = find_table(context, request["TableName"])
    if table is not None:
        response["Table"] = _describe(table, response["Table"], "DescribeTable", request)
    return response


def update_table(context, request, call):
    table = find_table(context, request["TableName"])
    if table is not None:
        was_on_demand = table.billing_mode == "PAY_PER_REQUEST"
        sse = request.get("SSESpecification")
        disabling = bool(sse) and sse.get("Enabled") is False and bool(table.sse_specification)
    response = _named_table_call(context, request, call)
    if table is None:
        return response
    if table.billing_mode == "PAY_PER_REQUEST" and not was_on_demand:
        from datetime import datetime, timezone

        table.fnmesh_on_demand_since = datetime.now(timezone.utc)
    table.fnmesh_sse_disabling = disabling
    response["TableDescription"] = _describe(table, response["TableDescription"], "UpdateTable", request)
    if disabling:  # AWS answers UPDATING, then the table describes no encryption at rest
        table.sse_specification = None
        table.fnmesh_sse_disabling = False
    return response


def delete_table(context, request, call):
    table = find_table(context, request["TableName"])
    response = _named_table_call(context, request, call)
    if table is not None:
        response["TableDescription"] = _describe(table, response["TableDescription"], "DeleteTable", request)
        dynamodb_settings.forget(table_id(table))
    return response


def _named_table_call(context, request, call):
    try:
        return call(context, request)
    except ServiceException as error:
        if error.code == "ResourceNotFoundException":
            raise table_not_found(request["TableName"]) from error
        raise


# --- items ---------------------------------------------------------------------------------------


def batch_write_item(context, request, call):
    """AWS refuses a batch whose put item or delete key lacks the table's key attributes (or has them
    with other types) as a whole, in its own words."""
    for table_name, writes in (request.get("RequestItems") or {}).items():
        table = find_table(context, table_name)
        if table is None:
            continue  # moto answers an unknown table as AWS does
        key_types = {table.hash_key_attr: table.hash_key_type}
        if table.range_key_attr:
            key_types[table.range_key_attr] = table.range_key_type
        for write in writes:
            attributes = (write.get("PutRequest") or {}).get("Item") or (write.get("DeleteRequest") or {}).get("Key") or {}
            for name, kind in key_types.items():
                if kind not in (attributes.get(name) or {}):
                    raise validation_error("The provided key element does not match the schema")
    return _only_what_was_asked(request, call(context, request))


# --- PartiQL -------------------------------------------------------------------------------------

_OPERATOR = r"<>|!=|<=|>=|=|<|>"
_NUMBER_AFTER_OPERATOR = re.compile(rf"({_OPERATOR})(\s*)(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![\w.])")
_QUOTED = re.compile(r"('(?:[^']|'')*'|\"[^\"]*\")")


def _for_moto(statement: str, parameters: list | None) -> tuple[str, list | None]:
    """The same statement in the forms moto's PartiQL parser takes, where AWS takes more:

    * UPDATE and SELECT: a number compared or assigned (``SET Age = 20``, ``WHERE n = 5``) becomes a
      ``?`` with the number as a parameter, in order with the others (moto reads numbers as strings);
    * SELECT: comparison operators spaced (moto's WHERE parser needs ``id = 'a'``, not ``id='a'``);
    * DELETE: string parameters written into the statement as quoted literals (moto's DELETE parser
      takes no ``?``).

    Quoted strings and identifiers are left as they are. A statement it cannot rewrite (fewer
    parameters than placeholders, a non-string DELETE parameter) is returned unchanged."""
    kind = statement.lstrip()[:6].upper()
    if kind not in ("UPDATE", "SELECT", "DELETE"):
        return statement, parameters
    given = list(parameters or [])
    result, merged = [], []
    for position, piece in enumerate(_QUOTED.split(statement)):
        if position % 2:  # a quoted string or identifier
            result.append(piece)
            continue
        if kind == "SELECT":
            piece = re.sub(rf"\s*({_OPERATOR})\s*", r" \1 ", piece)
        out, last = [], 0
        for token in re.finditer(r"\?|" + _NUMBER_AFTER_OPERATOR.pattern, piece):
            if token.group(0) == "?":
                value = given.pop(0) if given else None
                if kind != "DELETE":
                    merged.append(value)
                    continue
                if not isinstance(value, dict) or "S" not in value:
                    return statement, parameters
                replacement = "'" + value["S"].replace("'", "''") + "'"
            elif kind == "DELETE":
                continue
            else:
                replacement = token.group(1) + token.group(2) + "?"
                merged.append({"N": token.group(3)})
            out.append(piece[last : token.start()] + replacement)
            last = token.end()
        out.append(piece[last:])
        result.append("".join(out))
    if None in merged:
        return statement, parameters
    return "".join(result), (merged + given) or None


def _refuse_duplicate_insert(context, statement: str, parameters) -> None:
    """PartiQL's INSERT adds an item; if one with that key exists it fails with DuplicateItem (moto
    would overwrite it)."""
    if not statement.lstrip().upper().startswith("INSERT"):
        return
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.parsing import partiql

    table = find_table(context, _statement_table(statement))
    if table is None:
        return
    _, updates = partiql.query(statement, {table.name: []}, parameters or [])
    for _, item in updates.get(table.name, []):
        if not item or table.hash_key_attr not in item:
            continue
        range_key = item.get(table.range_key_attr) if table.range_key_attr else None
        if range_key is None and table.range_key_attr:
            continue
        found = table.get_item(DynamoType(item[table.hash_key_attr]), DynamoType(range_key) if range_key else None)
        if found is not None:
            raise CommonServiceException("DuplicateItemException", "Duplicate primary key exists in table")


def _partiql(call, context, request, check_insert=True):
    try:
        if check_insert:
            _refuse_duplicate_insert(context, request["Statement"], request.get("Parameters"))
        return call(context, request)
    except ServiceException:
        raise
    except Exception as error:  # moto's parser failed on it
        raise validation_error(not_well_formed(error)) from error


def execute_statement(context, request, call):
    statement, parameters = _for_moto(request["Statement"], request.get("Parameters"))
    if statement != request["Statement"]:
        request = {name: value for name, value in request.items() if name != "Parameters"}
        request["Statement"] = statement
        if parameters:
            request["Parameters"] = parameters
        call = lambda context, rewritten: moto_with(context, rewritten)  # noqa: E731
    return _only_what_was_asked(request, _partiql(call, context, request))


def execute_transaction(context, request, call):
    """All statements or none: an INSERT over an existing key cancels the transaction with reason
    ``DuplicateItem`` at that statement, ``None`` at the others."""
    from localstack.aws.api.dynamodb import TransactionCanceledException

    statements, reasons, rewritten = [], [], False
    for entry in request["TransactStatements"]:
        statement, parameters = _for_moto(entry["Statement"], entry.get("Parameters"))
        rewritten = rewritten or statement != entry["Statement"]
        rewritten_entry = {"Statement": statement, **({"Parameters": parameters} if parameters else {})}
        statements.append({**{k: v for k, v in entry.items() if k != "Parameters"}, **rewritten_entry})
        try:
            _refuse_duplicate_insert(context, statement, parameters)
            reasons.append({"Code": "None"})
        except ServiceException as error:
            if error.code != "DuplicateItemException":
                raise
            reasons.append({"Code": "DuplicateItem", "Message": error.message})
        except Exception as error:
            raise validation_error(not_well_formed(error)) from error
    if any(reason["Code"] != "None" for reason in reasons):
        codes = ", ".join(reason["Code"] for reason in reasons)
        raise TransactionCanceledException(
            f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
            CancellationReasons=reasons,
        )
    if rewritten:
        request = {**request, "TransactStatements": statements}
        call = lambda context, rewritten_request: moto_with(context, rewritten_request)  # noqa: E731
    return _only_what_was_asked(request, _partiql(call, context, request, check_insert=False))


def batch_execute_statement(context, request, lock):
    """Each statement runs on its own and answers on its own: an error in one is that statement's
    ``Error`` (code without the ``Exception`` suffix), the others still apply."""
    from moto.dynamodb.exceptions import DynamodbException

    responses = []
    with lock:
        backend = _backend(context)
        for entry in request["Statements"]:
            statement, parameters = _for_moto(entry["Statement"], entry.get("Parameters"))
            answer = {}
            try:
                table_name = _statement_table(statement)
                if table_name not in backend.tables:
                    raise CommonServiceException("ResourceNotFoundException", "Requested resource not found")
                answer["TableName"] = table_name
                _refuse_duplicate_insert(context, statement, parameters)
                items = backend.execute_statement(statement=statement, parameters=parameters or [])
                if items:
                    answer["Item"] = items[0]
            except DynamodbException as error:
                answer = {"Error": {"Code": _batch_code(error.error_type), "Message": error.message}}
            except ServiceException as error:
                answer = {"Error": {"Code": _batch_code(error.code), "Message": error.message}}
            except Exception as error:
                answer = {"Error": {"Code": "ValidationError", "Message": not_well_formed(error)}}
            responses.append(answer)
    return {"Responses": responses}


def _statement_table(statement: str) -> str:
    from moto.dynamodb.parsing import partiql

    return partiql.get_query_metadata(statement).get_table_names()[0]


def _batch_code(error_type: str) -> str:
    code = error_type.rsplit("#", 1)[-1]
    return code[: -len("Exception")] if code.endswith("Exception") else code


# --- the wrapper ---------------------------------------------------------------------------------

# Operations answered here in place of moto's handler; each runs under moto's lock.
_ANSWERS = {
    "CreateTable": create_table,
    "DescribeTable": describe_table,
    "UpdateTable": update_table,
    "DeleteTable": delete_table,
    "BatchWriteItem": batch_write_item,
    "ExecuteStatement": execute_statement,
    "ExecuteTransaction": execute_transaction,
}


def wrap(dispatch_table: dict, lock) -> dict:
    """AWS's answers around the serialized moto operations: every request is validated, every
    answer carries only what was asked for. Handlers that read moto's tables take ``lock``
    (re-entrant) around the reading and the call, so nothing changes in between. (Creating the
    managed KMS key for a table happens under it too, once per account and region; KMS never calls
    DynamoDB.)"""

    def answering(operation, handler, answer=None):
        def answer_as_aws(context, request):
            validate(context, request)
            if answer is None:
                return _only_what_was_asked(request, handler(context, request))
            with lock:
                return answer(context, request, handler)

        answer_as_aws.__name__ = f"answer_{operation}"
        return answer_as_aws

    answers = dict(_ANSWERS)
    answers["BatchExecuteStatement"] = lambda context, request, _: batch_execute_statement(context, request, lock)
    for operation, answer in dynamodb_settings.operations(find_table, table_id, table_not_found).items():
        answers[operation] = lambda context, request, _, answer=answer: answer(context, request)
    return {operation: answering(operation, handler, answers.get(operation)) for operation, handler in dispatch_table.items()}
