"""Plux entry points. Kept free of heavy imports: plux loads this module while scanning."""

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin


class ProcessRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    """Registers the ``process`` executor (``LAMBDA_RUNTIME_EXECUTOR=process``)."""

    name = "process"

    def load(self, *args, **kwargs):
        from fnmesh_localstack.process_executor import ProcessRuntimeExecutor

        return ProcessRuntimeExecutor
