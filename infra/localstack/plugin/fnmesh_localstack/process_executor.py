"""A Lambda runtime executor that runs each execution environment as a host Node.js process.

LocalStack's built-in executor starts one Docker container per execution environment and runs
the AWS runtime interface emulator inside it. On a machine without a Docker engine this executor
takes its place: each environment is one ``node`` process running fnmesh's runtime shim
(``runtime/supervisor.cjs``), which speaks the same executor protocol over HTTP:

    LocalStack                         supervisor.cjs (one per environment)
    ----------                         ------------------------------------
    start(): spawn, wait  <------------ POST {endpoint}/status/{id}/ready   (or /error)
    invoke(): POST /invoke ----------->  answers 200 at once, runs the handler
              wait for the future <---- POST {endpoint}/invocations/{req}/logs
                                  <---- POST {endpoint}/invocations/{req}/response (or /error)

The supervisor runs the handler in a forked worker process, so a handler that times out, crashes
or calls ``process.exit`` only costs the worker: the invoke reports the error and the supervisor
forks a fresh worker. If the supervisor itself dies, this executor fails whatever is pending
at once instead of letting LocalStack wait 905 seconds for an answer.

The process gets the runtime AWS's nodejs runtimes give a function (``runtime_environment``):
AWS's environment variables, the code as working directory, and the AWS SDK on NODE_PATH (pinned
sets installed beside the venv, named by FNMESH_LAMBDA_SDK), at AWS's paths (/var/task,
/var/runtime) in a mount namespace of its own where the machine allows it (``layout.py``).
"""

import collections
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

from localstack import config
from localstack.services.lambda_.invocation.executor_endpoint import (
    ExecutorEndpoint,
    StatusErrorException,
)
from localstack.services.lambda_.invocation.lambda_models import (
    FunctionVersion,
    InvocationResult,
    PackageType,
)
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)
from localstack.utils.net import get_free_tcp_port

from fnmesh_localstack.layout import Layout, layout_for, node_major

LOG = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
# Output kept per environment for get_logs() (the docker executor returns the container's logs).
LOG_BUFFER_LINES = 2000
STOP_GRACE_SECONDS = 2


def node_executable() -> str | None:
    """The Node.js binary environments run on: FNMESH_NODE, else ``node`` on PATH."""
    return os.environ.get("FNMESH_NODE") or shutil.which("node")


def runtime_environment(
    env_vars: dict[str, str], runtime: str, node: str, layout: Layout, port: int
) -> dict[str, str]:
    """The environment of one execution environment's process, shaped like AWS's nodejs runtimes'.

    ``env_vars`` is what LocalStack passes (its own variables, then the function's, which win).
    Variables a function may set itself (PATH, NODE_PATH, LANG, TZ...) keep the function's value;
    the ones AWS reserves for the runtime are always the runtime's. Paths follow ``layout``.
    """
    task_root, runtime_dir = layout.task_root, layout.runtime_dir
    library_path = [
        *filter(None, os.environ.get("LD_LIBRARY_PATH", "").split(":")),
        *("/lib64", "/usr/lib64", runtime_dir, f"{runtime_dir}/lib"),
        *(task_root, f"{task_root}/lib", "/opt/lib"),
    ]
    defaults = {
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PATH": f"{os.path.dirname(node)}:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
        "NODE_PATH": ":".join(layout.node_path(node_major(runtime))),
        "LD_LIBRARY_PATH": ":".join(library_path),
        "SHLVL": "0",
    }
    if not layout.aws:
        # AWS sets no HOME (the home directory is the sandbox user's) and uses /tmp, which the AWS
        # layout makes private; on the host, both point to the environment's own directory.
        defaults["HOME"] = layout.private_tmp
    reserved = {
        "LAMBDA_TASK_ROOT": task_root,
        "LAMBDA_RUNTIME_DIR": runtime_dir,
        "PWD": task_root,
        # LocalStack says "AWS_Lambda_rapid" and leaves it to the runtime, as AWS's runtimes do.
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}" if runtime else "AWS_Lambda_rapid",
        # The supervisor's address; it serves LocalStack's executor protocol, not the Runtime API.
        "AWS_LAMBDA_RUNTIME_API": f"{LOOPBACK}:{port}",
        "LOCALSTACK_RUNTIME_PORT": str(port),
    }
    if not layout.aws:
        reserved["TMPDIR"] = layout.private_tmp
    env = {**defaults, **env_vars, **reserved}
    wrapper = env_vars.get("AWS_LAMBDA_EXEC_WRAPPER")
    if wrapper:
        env["LOCALSTACK_EXEC_WRAPPER"] = layout.host_path(wrapper)
    return env


class ProcessRuntimeExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id, function_version)
        self.executor_endpoint = ExecutorEndpoint(self.id, container_address=LOOPBACK)
        self.process: subprocess.Popen | None = None
        self.tmpdir: str | None = None
        self.output: collections.deque[str] = collections.deque(maxlen=LOG_BUFFER_LINES)
        self.stopping = threading.Event()
        self.stop_lock = threading.Lock()

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self, env_vars: dict[str, str]) -> None:
        self.executor_endpoint.start()
        self.executor_endpoint.container_port = get_free_tcp_port()
        node = node_executable()
        if not node:
            raise LambdaRuntimeException("process executor: no `node` on PATH (set FNMESH_NODE)")
        code_dir = str(self.function_version.config.code.get_unzipped_code_location())
        # /tmp is per execution environment in Lambda; give each process its own.
        self.tmpdir = tempfile.mkdtemp(prefix=f"fnmesh-lambda-{self.id[:12]}-")
        runtime = str(self.function_version.config.runtime or "")
        layout = layout_for(runtime, code_dir, self.tmpdir)
        env = runtime_environment(
            {key: str(value) for key, value in env_vars.items()},
            runtime=runtime,
            node=node,
            layout=layout,
            port=self.executor_endpoint.container_port,
        )
        command = layout.command(node, code_dir)
        LOG.debug("process executor %s: starting %s", self.id, command)
        self.process = subprocess.Popen(
            command,
            cwd=code_dir,
            env=env,
            # Never written: when LocalStack dies, even by SIGKILL, the supervisor reads EOF here
            # and exits with its worker, so no environment outlives LocalStack.
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() kills the worker too
        )
        threading.Thread(
            target=self._pump_output, name=f"lambda-process-{self.id[:8]}", daemon=True
        ).start()
        self.executor_endpoint.wait_for_startup()

    def stop(self) -> None:
        """Idempotent: LocalStack calls it on keep-alive expiry, startup timeouts and errors."""
        with self.stop_lock:
            if self.stopping.is_set():
                return
            self.stopping.set()
        if self.process and self.process.poll() is None:
            try:
                self.process.stdin.close()
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        try:
            self.executor_endpoint.shutdown()
        except Exception as e:  # already unregistered, or never started
            LOG.debug("process executor %s: endpoint shutdown: %s", self.id, e)
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    # --- process output and unexpected exits ----------------------------------------------------

    def _pump_output(self) -> None:
        process = self.process
        for raw in iter(process.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            self.output.append(line)
            LOG.debug("[lambda %s] %s", self.id[:8], line)
        code = process.wait()
        if not self.stopping.is_set():
            self._fail_pending(f"Runtime exited unexpectedly with code {code}")

    def _fail_pending(self, message: str) -> None:
        """The supervisor died on its own: answer whatever LocalStack is waiting for."""
        LOG.warning("process executor %s: %s", self.id, message)
        body = json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message}).encode()
        endpoint = self.executor_endpoint
        startup = endpoint.startup_future
        if startup is not None and not startup.done():
            startup.set_exception(StatusErrorException(message, payload=body))
        invocation = endpoint.invocation_future
        if invocation is not None and not invocation.done():
            invocation.set_result(InvocationResult("", body, is_error=True, logs=self.get_logs()))

    # --- RuntimeExecutor -------------------------------------------------------------------------

    def get_address(self) -> str:
        return LOOPBACK

    def get_endpoint_from_executor(self) -> str:
        return LOOPBACK

    def get_runtime_endpoint(self) -> str:
        port = config.GATEWAY_LISTEN[0].port
        return f"http://{LOOPBACK}:{port}{self.executor_endpoint.get_endpoint_prefix()}"

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        return self.executor_endpoint.invoke(payload)

    def get_logs(self) -> str:
        return "\n".join(self.output)

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        """Fails the version (CloudFormation shows the reason) if this executor cannot run it."""
        fn_config = function_version.config
        if fn_config.package_type != PackageType.Zip:
            raise LambdaRuntimeException(
                "process executor: only Zip packages are supported (container images need Docker)"
            )
        runtime = str(fn_config.runtime or "")
        if not runtime.startswith("nodejs"):
            raise LambdaRuntimeException(
                f"process executor: runtime {runtime or '(none)'} is not supported; "
                "only nodejs* runtimes run as host processes"
            )
        if fn_config.layers:
            raise LambdaRuntimeException("process executor: Lambda layers are not supported")
        if fn_config.code:
            fn_config.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass

    @classmethod
    def validate_environment(cls) -> bool:
        if not node_executable():
            LOG.warning("process executor: no `node` on PATH; Lambda functions cannot start")
            return False
        return True
