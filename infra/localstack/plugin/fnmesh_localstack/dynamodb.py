"""DynamoDB served by moto instead of DynamoDB Local.

LocalStack's own DynamoDB providers proxy to DynamoDB Local (Amazon's jar, not open source, and a
download). This provider answers every operation from moto, in-process.

Moto is not thread-safe: ``Table.put_item`` reads, evaluates the condition and writes without a
lock, and LocalStack's gateway serves requests on a thread pool. Without serialization two
concurrent conditional writes on one key can both succeed, which would grant a lock twice. So
every operation runs under one process-wide lock, held while moto runs it (not while its answer
is parsed, ``moto_serialized``).

Each operation is also one unit of DynamoDB Streams (``dynamodb_streams.py``: the items it changed
become stream records when it ends, and replicas of global tables follow: ``dynamodb_replicas.py``),
and the TTL sweeper (``dynamodb_ttl.py``) takes the same lock.
"""

import functools
import logging
import threading

from localstack.aws.api.dynamodb import DynamodbApi
from localstack.services.moto import MotoFallbackDispatcher
from localstack.services.plugins import Service, aws_provider

from fnmesh_localstack import fast_path, dynamodb_answers, dynamodb_replicas, dynamodb_streams, dynamodb_ttl, strict
from fnmesh_localstack.plugins import DYNAMODB_MARKER
from fnmesh_localstack.strict_dynamodb import StrictDynamoDB

LOG = logging.getLogger(__name__)

# Re-entrant so that an operation that dispatches another (none do today) cannot deadlock.
MOTO_DYNAMODB_LOCK = threading.RLock()


class MotoDynamoDBProvider(DynamodbApi):
    """Implements nothing itself: every operation falls through to moto."""


def serialized(handler):
    @functools.wraps(handler)
    def run_serialized(*args, **kwargs):
        with MOTO_DYNAMODB_LOCK, dynamodb_streams.recording():
            return handler(*args, **kwargs)

    return run_serialized


def moto_serialized(context, request):
    """An operation on moto, holding the lock only while moto runs it: moto's answer (an HTTP
    response, bytes) is parsed into the service response after the lock is released, since
    parsing reads nothing of moto's state."""
    from localstack.aws.client import parse_response, raise_service_exception
    from localstack.services.moto import dispatch_to_moto

    with MOTO_DYNAMODB_LOCK, dynamodb_streams.recording():
        http_response = dispatch_to_moto(context)
    parsed = parse_response(context.operation, context.protocol, http_response, False)
    raise_service_exception(http_response, parsed)
    return parsed


def serialized_dispatch_table(provider):
    if fast_path.enabled():
        # MotoDynamoDBProvider implements nothing: every operation is moto's (as call_moto).
        table = {operation: moto_serialized for operation in MotoFallbackDispatcher(provider)}
    else:
        table = {operation: serialized(handler) for operation, handler in MotoFallbackDispatcher(provider).items()}
    table = dynamodb_answers.wrap(table, MOTO_DYNAMODB_LOCK)  # AWS's answers, see dynamodb_answers.py
    settings = strict.ADVERSITIES.settings
    if settings.enabled:
        # Outside the lock: a transaction's commit window must not hold up other items.
        table = StrictDynamoDB(settings).wrap(table)
    return table


@aws_provider(api="dynamodb", name="moto")
def dynamodb_moto():
    from fnmesh_localstack import transactions

    transactions.install()
    dynamodb_streams.install()
    dynamodb_replicas.install()
    dynamodb_ttl.start(MOTO_DYNAMODB_LOCK)
    LOG.info(DYNAMODB_MARKER)
    return Service.for_provider(MotoDynamoDBProvider(), dispatch_table_factory=serialized_dispatch_table)
