"""pytest plugin for ``npm run fidelity``: Node.js functions in place of LocalStack's Python test handlers.

fnmesh's Lambda executor runs Node.js only, but LocalStack's event-source-mapping suites deploy
their functions from Python handler files. Loaded with ``-p fnmesh_node_ports``, this plugin wraps
``localstack.utils.testutil.create_lambda_function`` (which the ``create_lambda_function`` fixture
calls): when a test asks for a Python runtime and a handler file that fnmesh has ported (a bundled
``<handler>.js`` in ``FNMESH_FIDELITY_PORTS``), the function is created from that bundle on a
Node.js runtime instead. The one generated handler the suites use (a fixed answer) is translated
here. Anything else is left alone, so an unported handler shows up as a failure, not a pass.
"""

import ast
import io
import json
import os
import re
import zipfile

PORTS_DIR = os.environ.get("FNMESH_FIDELITY_PORTS", "")
NODE_RUNTIME = os.environ.get("FNMESH_FIDELITY_NODE_RUNTIME", "nodejs22.x")

# The source LocalStack's ``create_lambda_with_response`` generates: log the event, return a literal.
FIXED_RESPONSE = re.compile(
    r"^\s*import json\s+def handler\(event, context\):\s+print\(json\.dumps\(event\)\)\s+return (?P<value>.+?)\s*$",
    re.DOTALL,
)


def node_source(handler_file) -> str | None:
    """The Node.js source standing in for a Python handler (a file path or inline source), if ported."""
    if handler_file is None:
        return None
    text = str(handler_file)
    if os.path.exists(text):
        name = os.path.splitext(os.path.basename(text))[0]
        bundle = os.path.join(PORTS_DIR, f"{name}.js")
        if not os.path.exists(bundle):
            return None
        with open(bundle, encoding="utf-8") as f:
            return f.read()
    match = FIXED_RESPONSE.match(text)
    if match:
        return fixed_response_source(match.group("value"))
    return None


def fixed_response_source(expression: str) -> str:
    """A Node.js handler that logs the event and answers what the Python expression evaluates to.

    A literal becomes the same JSON value. The one other expression the suites use,
    ``(lambda: 1 / 0)()``, raises when the handler runs, so anything that is not a literal
    becomes a handler that fails with Python's error for it.
    """
    try:
        body = f"  return {json.dumps(ast.literal_eval(expression))};\n"
    except (ValueError, SyntaxError):
        if expression.replace(" ", "") != "(lambda:1/0)()":
            raise ValueError(f"fnmesh_node_ports: no port for the handler answer {expression!r}")
        body = "  throw Object.assign(new Error('division by zero'), { name: 'ZeroDivisionError' });\n"
    return (
        "exports.handler = async (event) => {\n"
        "  process.stdout.write(JSON.stringify(event) + '\\n');\n"
        f"{body}"
        "};\n"
    )


def zip_single_file(name: str, source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(name)
        info.external_attr = 0o644 << 16
        archive.writestr(info, source)
    return buffer.getvalue()


def pytest_configure(config):
    from localstack.utils import testutil

    original = testutil.create_lambda_function

    def create_lambda_function(func_name, *args, **kwargs):
        runtime = str(kwargs.get("runtime") or "")
        source = None
        if runtime.startswith("python") and not args and not kwargs.get("zip_file"):
            source = node_source(kwargs.get("handler_file"))
        if source is not None:
            handler = kwargs.get("handler") or "handler.handler"
            module = handler.rsplit(".", 1)[0]
            kwargs = {**kwargs, "handler": handler, "runtime": NODE_RUNTIME, "libs": None}
            kwargs.pop("handler_file", None)
            kwargs["zip_file"] = zip_single_file(f"{module}.js", source)
        return original(func_name, *args, **kwargs)

    testutil.create_lambda_function = create_lambda_function
