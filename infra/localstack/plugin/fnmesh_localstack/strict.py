"""Strict mode: the adversities AWS has and a serialized local cloud does not.

Switched on by ``FNMESH_STRICT=1`` in LocalStack's environment; everything else is tuned by the
``FNMESH_STRICT_*`` settings below (docs/STRICT.md says what each models and which AWS page it
follows). Off, nothing here touches a request.

* DynamoDB (``strict_dynamodb.py``): transactions hold their items for a commit window, so
  concurrent transactions and single-item writes on those items conflict as on AWS; writes beyond
  a partition key's write units per second are throttled, transactional writes counting double.
* SQS (``strict_sqs.py``): a standard queue delivers a received message again, at a seeded rate;
  Lambda's internal queue of asynchronous invocations likewise (an event delivered twice).

Every adversity is counted, logged (``fnmesh strict: <kind> ...``) and reported by the read-only
endpoint ``GET /_fnmesh/strict``. Random decisions come from one generator per kind and resource,
seeded from ``FNMESH_STRICT_SEED``: the same seed and the same requests give the same adversities.
"""

import dataclasses
import json
import logging
import os
import random
import threading

LOG = logging.getLogger(__name__)

STATUS_PATH = "/_fnmesh/strict"
# Logged at start-up when strict mode is on; `npm run local:up` checks it when asked for strict mode.
STRICT_MARKER = "fnmesh strict: on"
INVALID_SETTING = "fnmesh strict: invalid setting"


@dataclasses.dataclass(frozen=True)
class StrictSettings:
    enabled: bool = False
    seed: int = 1
    # How long a TransactWriteItems holds its items (prepare to commit), in milliseconds.
    transaction_window_ms: float = 20.0
    # Write units per second one partition key serves (AWS: 1,000 per partition).
    partition_write_units: float = 1000.0
    # Share of messages a standard queue delivers a second time.
    sqs_duplicate_rate: float = 0.02
    # A duplicate shows up at once (a second receiver may get it while the first holds it) or
    # after up to this many milliseconds (typically after the first receiver deleted it).
    sqs_duplicate_max_delay_ms: float = 3000.0
    # Share of asynchronous Lambda events delivered twice.
    lambda_duplicate_rate: float = 0.02


SETTINGS_FROM_ENVIRONMENT = {
    "FNMESH_STRICT_SEED": ("seed", int, lambda v: True, "an integer"),
    "FNMESH_STRICT_TRANSACTION_WINDOW_MS": ("transaction_window_ms", float, lambda v: 0 <= v <= 10_000, "0 to 10000"),
    "FNMESH_STRICT_PARTITION_WRITE_UNITS": ("partition_write_units", float, lambda v: v > 0, "a number above 0"),
    "FNMESH_STRICT_SQS_DUPLICATE_RATE": ("sqs_duplicate_rate", float, lambda v: 0 <= v <= 1, "0 to 1"),
    "FNMESH_STRICT_SQS_DUPLICATE_MAX_DELAY_MS": ("sqs_duplicate_max_delay_ms", float, lambda v: 0 <= v <= 900_000, "0 to 900000"),
    "FNMESH_STRICT_LAMBDA_DUPLICATE_RATE": ("lambda_duplicate_rate", float, lambda v: 0 <= v <= 1, "0 to 1"),
}


def settings_from_environment(environ=os.environ) -> StrictSettings:
    """Reads the settings; a malformed value raises ValueError naming the variable."""
    flag = environ.get("FNMESH_STRICT", "").strip().lower()
    if flag not in ("", "0", "1", "true", "false"):
        raise ValueError(f"FNMESH_STRICT must be 1/true or 0/false, got {flag!r}")
    values = {"enabled": flag in ("1", "true")}
    for variable, (field, parse, valid, expected) in SETTINGS_FROM_ENVIRONMENT.items():
        raw = environ.get(variable)
        if raw is None or raw.strip() == "":
            continue
        try:
            value = parse(raw)
        except ValueError:
            value = None
        if value is None or value != value or not valid(value):  # value != value: NaN
            raise ValueError(f"{variable} must be {expected}, got {raw!r}")
        values[field] = value
    return StrictSettings(**values)


class Adversities:
    """Counts, logs and (for random ones) decides the adversities, thread-safe."""

    def __init__(self, settings: StrictSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._by_resource: dict[str, dict[str, int]] = {}

    def record(self, kind: str, detail: str, resource: str | None = None) -> None:
        """Counts one adversity of `kind`; `resource` (a queue, a function) also counts it there."""
        with self._lock:
            count = self._counts.get(kind, 0) + 1
            self._counts[kind] = count
            if resource is not None:
                counted = self._by_resource.setdefault(kind, {})
                counted[resource] = counted.get(resource, 0) + 1
        LOG.info("fnmesh strict: %s #%d %s", kind, count, detail)

    def generator(self, kind: str, resource: str) -> random.Random:
        """A seeded generator for one kind of adversity on one resource (a queue, a function):
        the owner keeps it, so a resource created again under the same name starts afresh."""
        return random.Random(f"{self.settings.seed}/{kind}/{resource}")

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def by_resource(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {kind: dict(counted) for kind, counted in self._by_resource.items()}


def _from_environment() -> tuple[Adversities, str | None]:
    try:
        return Adversities(settings_from_environment()), None
    except ValueError as error:
        return Adversities(StrictSettings()), str(error)


# Read once, when LocalStack first imports this module (its environment is fixed by then).
ADVERSITIES, SETTINGS_ERROR = _from_environment()


def status() -> dict:
    settings = ADVERSITIES.settings
    return {
        "enabled": settings.enabled,
        "settings": dataclasses.asdict(settings),
        "counts": ADVERSITIES.counts(),
        "byResource": ADVERSITIES.by_resource(),
    }


def _status_endpoint(request, **kwargs):
    from localstack.http import Response

    return Response(json.dumps(status()), mimetype="application/json")


def install_strict_mode() -> None:
    """Serves the status endpoint and, when strict mode is on, patches SQS. (DynamoDB's provider
    wraps its own operations: see ``dynamodb.py``.)"""
    from localstack.services.edge import ROUTER

    ROUTER.add(STATUS_PATH, _status_endpoint, methods=["GET"])
    if SETTINGS_ERROR:
        LOG.error("%s: %s", INVALID_SETTING, SETTINGS_ERROR)
        return
    settings = ADVERSITIES.settings
    if not settings.enabled:
        return
    from fnmesh_localstack import strict_sqs

    strict_sqs.install()
    LOG.info("%s (%s)", STRICT_MARKER, json.dumps(dataclasses.asdict(settings), sort_keys=True))
