"""The per-call path, cut to what fnmesh's host mode needs (``FNMESH_FAST_PATH``, on unless ``0``).

Profiled with py-spy on the LocalStack process under the bench's substrate section
(``bench/substrate.ts``; docs/BENCHMARKS.md, "Substrate profile"), the time a call costs went
mostly to work beside the call, not to the call:

* **CloudWatch's metric store.** Every SQS call (SendMessage, ReceiveMessage, DeleteMessage, ...)
  and every Lambda invocation publishes a metric: an internal ``PutMetricData`` through the whole
  gateway, which opens a new SQLite connection and commits with an fsync, under one lock. Two
  thirds of the gateway's samples were in that commit. The store stays (``fnmesh ui``'s topology
  reads AWS/Lambda ``Invocations`` and ``Errors``); its SQLite file, scratch state in the state
  dir, is written without an fsync per commit (``synchronous=OFF``): the same rows, the same
  reads, no durability across a machine crash, which a local cloud's metrics never had a use for.
* **AWS/SQS metrics.** Nothing of fnmesh reads them, and each SQS call's metric is a second
  request through the gateway: off (``SQS_DISABLE_CLOUDWATCH_METRICS``, set in
  infra/localstack/localstack.ts; ``FNMESH_FAST_PATH=0`` turns them back on).
* **The response log.** Every AWS call logged an INFO line (``AWS sqs.SendMessage => 200``) and
  built copies of its request and response headers for the log record first, even with the
  logger off. Now only when ``localstack.request.aws`` is enabled for INFO:
  ``FNMESH_REQUEST_LOG=1`` (or ``FNMESH_FAST_PATH=0``) turns the lines back on.

None of this changes what a call answers, what strict mode does, or the order of anything.
"""

import logging
import os
import sqlite3

LOG = logging.getLogger(__name__)

FAST_PATH_SWITCH = "FNMESH_FAST_PATH"
REQUEST_LOG_SWITCH = "FNMESH_REQUEST_LOG"
FAST_PATH_MARKER = "fnmesh: per-call fast path on"


def _is_on(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value == "":
        return default
    return value in ("1", "true")


def enabled() -> bool:
    return _is_on(FAST_PATH_SWITCH, True)


def _quiet_response_log() -> None:
    """Skip the response logger's work (log record and its header copies) unless INFO is on for it."""
    from localstack.aws.handlers import logging as response_logging

    for name in ("localstack.request.aws", "localstack.request.http"):
        logging.getLogger(name).setLevel(logging.WARNING)
    original = response_logging.ResponseLogger._log

    def log_if_enabled(self, context, response):
        if context.operation:
            logger = self.internal_aws_logger if context.is_internal_call else self.aws_logger
        else:
            logger = self.internal_http_logger if context.is_internal_call else self.http_logger
        if logger.isEnabledFor(logging.INFO):
            original(self, context, response)

    response_logging.ResponseLogger._log = log_if_enabled


def _metrics_without_fsync() -> None:
    """CloudWatch's metric SQLite store: no fsync per commit (each write opens a connection)."""
    from localstack.services.cloudwatch import cloudwatch_database_helper as helper

    connect = sqlite3.connect

    def connect_unsynced(database, *args, **kwargs):
        conn = connect(database, *args, **kwargs)
        if "mode=ro" not in str(database):
            conn.execute("PRAGMA synchronous=OFF")
        return conn

    class Sqlite3:
        """The ``sqlite3`` module as the helper sees it, with the connect above."""

        def __getattr__(self, name):
            return connect_unsynced if name == "connect" else getattr(sqlite3, name)

    helper.sqlite3 = Sqlite3()


def install() -> None:
    if not enabled():
        return
    if not _is_on(REQUEST_LOG_SWITCH, False):
        _quiet_response_log()
    _metrics_without_fsync()
    LOG.info(FAST_PATH_MARKER)
