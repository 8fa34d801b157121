"""Plux entry points. Kept free of heavy imports: plux loads this module while scanning."""

import logging

from localstack.runtime import hooks
from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin

LOG = logging.getLogger(__name__)

# Logged when the plugin is actually in use; `npm run local:up` waits for both markers, so a
# LocalStack that quietly runs something else never counts as ready.
EXECUTOR_MARKER = "fnmesh: Lambda functions run as host processes (process executor)"
DYNAMODB_MARKER = "fnmesh: DynamoDB is served by moto, operations serialized"


class ProcessRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    """Registers the ``process`` executor (``LAMBDA_RUNTIME_EXECUTOR=process``)."""

    name = "process"

    def load(self, *args, **kwargs):
        from fnmesh_localstack.process_executor import ProcessRuntimeExecutor

        LOG.info(EXECUTOR_MARKER)
        return ProcessRuntimeExecutor


@hooks.on_infra_start()
def fnmesh_strict_mode():
    """Strict mode (``FNMESH_STRICT=1``) and its status endpoint, ``GET /_fnmesh/strict``."""
    from fnmesh_localstack.strict import install_strict_mode

    install_strict_mode()


@hooks.on_infra_start(priority=50)
def fnmesh_streams_without_kinesis():
    """LocalStack loads Kinesis (kinesis-mock, a download) for DynamoDB Streams; fnmesh's streams
    provider (``PROVIDER_OVERRIDE_DYNAMODBSTREAMS=fnmesh``) needs none. Runs before eager loading."""
    import os

    from localstack.utils import bootstrap

    if os.environ.get("PROVIDER_OVERRIDE_DYNAMODBSTREAMS") != "fnmesh":
        return
    bootstrap.API_DEPENDENCIES["dynamodbstreams"] = []
    for resolved in (bootstrap.get_enabled_apis, bootstrap.get_preloaded_services):
        if hasattr(resolved, "cache_clear"):
            resolved.cache_clear()


@hooks.on_infra_start()
def fnmesh_function_urls():
    """Function URLs callable on loopback: ``/_fnmesh/lambda-url/<url-id>/`` (function_urls.py)."""
    from fnmesh_localstack.function_urls import install_function_urls

    install_function_urls()


@hooks.on_infra_start()
def fnmesh_fast_path():
    """The per-call path without the work beside the call (fast_path.py; ``FNMESH_FAST_PATH=0``: off)."""
    from fnmesh_localstack.fast_path import install

    install()


@hooks.on_infra_start()
def fnmesh_sqs_pollers():
    """SQS event source mappings poll as AWS's do: several pollers per mapping of a standard queue
    (``FNMESH_SQS_POLLERS``), each long-polling (``FNMESH_SQS_LONG_POLL``)."""
    from fnmesh_localstack.sqs_pollers import install_sqs_pollers

    install_sqs_pollers()
