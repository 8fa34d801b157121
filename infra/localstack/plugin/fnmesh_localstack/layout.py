"""Where a Lambda execution environment's files are, as its function sees them: AWS's paths if the
machine allows it, else this host's.

AWS's nodejs runtimes run a function with its code in /var/task (read-only, the working directory),
the runtime and the AWS SDK it provides in /var/runtime (/var/runtime/node_modules), and a /tmp of
its own. Where this machine allows it (root, util-linux ``unshare``; ``FNMESH_LAMBDA_LAYOUT`` not
``host``), each environment runs in a private mount namespace laid out just so by
``runtime/aws-layout.sh``: LAMBDA_TASK_ROOT, NODE_PATH, the working directory and a wrapper named
``/var/task/...`` are AWS's own. Elsewhere the same variables name the host's directories (the
unzipped code, this plugin's runtime directory, the installed SDK) and TMPDIR a private directory.
"""

import dataclasses
import functools
import logging
import os
import shutil
import subprocess
from pathlib import Path

LOG = logging.getLogger(__name__)

RUNTIME_DIR = Path(__file__).parent / "runtime"
LAYOUT_SCRIPT = RUNTIME_DIR / "aws-layout.sh"
TASK_ROOT_ON_AWS = "/var/task"
RUNTIME_DIR_ON_AWS = "/var/runtime"
# Holds v3/node_modules (SDK v3: nodejs18.x and later) and v2/node_modules (SDK v2: nodejs16.x and
# older), installed beside the venv by infra/localstack/localstack.ts (ensureLambdaSdk).
SDK_VARIABLE = "FNMESH_LAMBDA_SDK"
LAYOUT_VARIABLE = "FNMESH_LAMBDA_LAYOUT"


@dataclasses.dataclass(frozen=True)
class Layout:
    aws: bool  # AWS's paths, in a mount namespace of its own
    task_root: str  # as the function sees them
    runtime_dir: str
    sdk_modules: str | None  # the SDK's node_modules on this host
    private_tmp: str  # this environment's /tmp (AWS layout) or TMPDIR (host layout)

    def node_path(self, major: str) -> list[str]:
        if self.aws:
            return [
                f"/opt/nodejs/node{major}/node_modules",
                "/opt/nodejs/node_modules",
                f"{RUNTIME_DIR_ON_AWS}/node_modules",
                RUNTIME_DIR_ON_AWS,
                TASK_ROOT_ON_AWS,
            ]
        return [p for p in (self.sdk_modules, self.runtime_dir, self.task_root) if p]

    def host_path(self, path: str) -> str:
        """A path as the function's configuration names it on AWS (/var/task/...), for the runtime."""
        if self.aws or not (path == TASK_ROOT_ON_AWS or path.startswith(TASK_ROOT_ON_AWS + "/")):
            return path
        return self.task_root + path[len(TASK_ROOT_ON_AWS) :]

    def command(self, node: str, code_dir: str) -> list[str]:
        """The command line that starts the environment's supervisor."""
        if not self.aws:
            return [node, str(RUNTIME_DIR / "supervisor.cjs")]
        return [
            *("unshare", "--mount", "--propagation", "private"),
            *("sh", str(LAYOUT_SCRIPT), code_dir, str(RUNTIME_DIR)),
            *(self.sdk_modules or "", self.private_tmp, "--"),
            *(node, f"{RUNTIME_DIR_ON_AWS}/supervisor.cjs"),
        ]


def node_major(runtime: str) -> str:
    """``nodejs20.x`` -> ``20``."""
    return runtime.removeprefix("nodejs").split(".")[0] or "0"


def sdk_modules(runtime: str) -> str | None:
    """The node_modules of the SDK the runtime provides: v2 up to nodejs16.x, v3 from nodejs18.x."""
    root = os.environ.get(SDK_VARIABLE)
    if not root:
        LOG.warning("process executor: %s is not set; functions get no AWS SDK", SDK_VARIABLE)
        return None
    major = node_major(runtime)
    modules = Path(root) / ("v2" if major.isdigit() and int(major) <= 16 else "v3") / "node_modules"
    return str(modules) if modules.is_dir() else None


@functools.cache
def aws_layout_available() -> bool:
    """Whether environments can get AWS's paths: asked once, the answer logged."""
    if os.environ.get(LAYOUT_VARIABLE, "aws").strip().lower() == "host":
        LOG.info("fnmesh: Lambda environments use this host's paths (%s=host)", LAYOUT_VARIABLE)
        return False
    reason = None
    if os.geteuid() != 0:
        reason = "not running as root"
    elif not shutil.which("unshare"):
        reason = "no unshare command"
    else:
        try:
            # Mount points for the namespaces (empty directories, as in AWS's images).
            for path in (TASK_ROOT_ON_AWS, RUNTIME_DIR_ON_AWS):
                os.makedirs(path, exist_ok=True)
            probe = subprocess.run(
                ["unshare", "--mount", "--propagation", "private"]
                + ["mount", "-t", "tmpfs", "tmpfs", RUNTIME_DIR_ON_AWS],
                capture_output=True,
                timeout=10,
            )
            if probe.returncode != 0:
                reason = f"no private mount namespace ({probe.stderr.decode().strip()})"
        except (OSError, subprocess.SubprocessError) as e:
            reason = str(e)
    if reason:
        LOG.warning("fnmesh: Lambda environments use this host's paths, not AWS's: %s", reason)
        return False
    LOG.info("fnmesh: Lambda environments see AWS's paths (/var/task, /var/runtime, a private /tmp)")
    return True


def layout_for(runtime: str, code_dir: str, private_tmp: str) -> Layout:
    sdk = sdk_modules(runtime)
    if aws_layout_available():
        return Layout(True, TASK_ROOT_ON_AWS, RUNTIME_DIR_ON_AWS, sdk, private_tmp)
    return Layout(False, code_dir, str(RUNTIME_DIR), sdk, private_tmp)
