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
AWS's environment variables, the code directory as working directory, and the AWS SDK v3 on
NODE_PATH (a pinned set installed beside the venv, named by FNMESH_LAMBDA_SDK).
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

LOG = logging.getLogger(__name__)

RUNTIME_DIR = Path(__file__).parent / "runtime"
SUPERVISOR = RUNTIME_DIR / "supervisor.cjs"
LOOPBACK = "127.0.0.1"
TASK_ROOT_ON_AWS = "/var/task"
# The node_modules directory holding the AWS SDK v3 that AWS's nodejs runtimes provide in
# /var/runtime/node_modules (installed beside the venv by infra/localstack/localstack.ts).
SDK_VARIABLE = "FNMESH_LAMBDA_SDK"
# Output kept per environment for get_logs() (the docker executor returns the container's logs).
LOG_BUFFER_LINES = 2000
STOP_GRACE_SECONDS = 2


def node_executable() -> str | None:
    """The Node.js binary environments run on: FNMESH_NODE, else ``node`` on PATH."""
    return os.environ.get("FNMESH_NODE") or shutil.which("node")


def aws_path(value: str, code_dir: str) -> str:
    """A path as a function's configuration names it on AWS (/var/task/...), on this host."""
    if value == TASK_ROOT_ON_AWS or value.startswith(TASK_ROOT_ON_AWS + "/"):
        return code_dir + value[len(TASK_ROOT_ON_AWS) :]
    return value


def runtime_environment(
    env_vars: dict[str, str], runtime: str, node: str, code_dir: str, tmpdir: str, port: int
) -> dict[str, str]:
    """The environment of one execution environment's process, shaped like AWS's nodejs runtimes'.

    ``env_vars`` is what LocalStack passes (its own variables, then the function's, which win).
    AWS's values that point into its filesystem (/var/task, /var/runtime, /var/lang) point to
    their counterparts here: the unzipped code, this plugin's runtime directory, node's directory.
    Variables a function may set itself (PATH, NODE_PATH, LANG, TZ...) keep the function's value;
    the ones AWS reserves for the runtime are always the runtime's.
    """
    runtime_dir = str(RUNTIME_DIR)
    sdk = os.environ.get(SDK_VARIABLE, "")
    node_path = [p for p in (sdk, runtime_dir, code_dir) if p]
    library_path = [
        *filter(None, os.environ.get("LD_LIBRARY_PATH", "").split(":")),
        "/lib64",
        "/usr/lib64",
        runtime_dir,
        f"{runtime_dir}/lib",
        code_dir,
        f"{code_dir}/lib",
    ]
    defaults = {
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PATH": f"{os.path.dirname(node)}:/usr/local/bin:/usr/bin:/bin",
        "NODE_PATH": ":".join(node_path),
        "LD_LIBRARY_PATH": ":".join(library_path),
        "HOME": tmpdir,
        "SHLVL": "0",
    }
    reserved = {
        "LAMBDA_TASK_ROOT": code_dir,
        "LAMBDA_RUNTIME_DIR": runtime_dir,
        "PWD": code_dir,
        "TMPDIR": tmpdir,
        # LocalStack says "AWS_Lambda_rapid" and leaves it to the runtime, as AWS's runtimes do.
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}" if runtime else "AWS_Lambda_rapid",
        # The supervisor's address; it serves LocalStack's executor protocol, not the Runtime API.
        "AWS_LAMBDA_RUNTIME_API": f"{LOOPBACK}:{port}",
        "LOCALSTACK_RUNTIME_PORT": str(port),
    }
    env = {**defaults, **env_vars, **reserved}
    wrapper = env_vars.get("AWS_LAMBDA_EXEC_WRAPPER")
    if wrapper:
        env["LOCALSTACK_EXEC_WRAPPER"] = aws_path(wrapper, code_dir)
    if not sdk:
        LOG.warning("process executor: %s is not set; functions get no AWS SDK", SDK_VARIABLE)
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
        env = runtime_environment(
            {key: str(value) for key, value in env_vars.items()},
            runtime=str(self.function_version.config.runtime or ""),
            node=node,
            code_dir=code_dir,
            tmpdir=self.tmpdir,
            port=self.executor_endpoint.container_port,
        )
        LOG.debug("process executor %s: starting %s in %s", self.id, SUPERVISOR, code_dir)
        self.process = subprocess.Popen(
            [node, str(SUPERVISOR)],
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
