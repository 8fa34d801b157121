"""SQS event source mappings that poll as AWS's do: several pollers per mapping, long polling.

LocalStack runs one poller thread per event source mapping: it receives a batch, invokes the
function, waits for the answer, deletes what succeeded, and only then receives the next batch. A
queue's batches therefore go through one at a time, each paying the invoke's whole round trip.
AWS runs several pollers per SQS mapping (five to start with, more as the queue's backlog grows),
so batches of one queue are invoked side by side.

With ``FNMESH_SQS_POLLERS=n`` (n > 1) each mapping of a *standard* queue gets n - 1 more poller
threads running the same poll (``poller.poll_events``: receive, invoke, delete what succeeded,
partial batch failures and the queue's redrive as before). FIFO queues keep one poller (their
order per message group needs it), as do streams. The extra threads end with the mapping's
poller: on stop or delete, and a restart starts a fresh set (each set knows its generation).
"""

import logging
import os
import threading

LOG = logging.getLogger(__name__)

POLLERS_SETTING = "FNMESH_SQS_POLLERS"
# How long an extra poller waits after an empty poll or an error (the main poller backs off on
# its own; the extras only add throughput while there is work).
IDLE_WAIT_SECONDS = 1.0
ERROR_WAIT_SECONDS = 2.0
LONG_POLL_SETTING = "FNMESH_SQS_LONG_POLL"
# How often a waiting poller looks at its mapping's stop signal and its queue's identity.
STOP_CHECK_SECONDS = 0.5


def pollers_from_environment(environ=os.environ) -> int:
    """How many pollers each standard-queue mapping runs (1: LocalStack's own, alone)."""
    raw = environ.get(POLLERS_SETTING, "1")
    try:
        count = int(raw)
    except ValueError:
        raise ValueError(f"{POLLERS_SETTING} must be an integer from 1 to 20, got {raw!r}") from None
    if not 1 <= count <= 20:
        raise ValueError(f"{POLLERS_SETTING} must be an integer from 1 to 20, got {raw!r}")
    return count


def long_polling(environ=os.environ) -> bool:
    """Whether pollers wait for a message instead of short-polling (``FNMESH_SQS_LONG_POLL``, on unless 0)."""
    return environ.get(LONG_POLL_SETTING, "1").strip().lower() not in ("0", "false")


def _standard_queue(poller):
    """The queue model behind a poller, if it is a standard queue that exists now; else None."""
    from localstack.services.sqs.models import StandardQueue, sqs_stores
    from localstack.utils.aws.arns import parse_arn

    arn = parse_arn(poller.source_arn)
    queue = sqs_stores[arn["account"]][arn["region"]].queues.get(arn["resource"])
    return queue if isinstance(queue, StandardQueue) else None


def wait_for_message(poller, stopped: threading.Event) -> bool:
    """Blocks until the poller's queue has a visible message (True: receive now), or until the
    mapping stops (False). A queue that is gone answers True at once: the receive reports it."""
    while not stopped.is_set():
        queue = _standard_queue(poller)
        if queue is None:
            return True
        visible = queue.visible
        with visible.not_empty:
            if visible._qsize() or visible.is_shutdown:
                return True
            visible.not_empty.wait(STOP_CHECK_SECONDS)
            if visible._qsize() and not stopped.is_set():
                return True
    return False


def _poll_when_there_is_work(worker, poller, empty_poll_error) -> None:
    """Makes the poller's ``poll_events`` wait for a message first (this poller object only)."""
    if getattr(poller, "_fnmesh_long_polling", False):
        return
    poll_once = poller.poll_events

    def poll_events() -> None:
        while wait_for_message(poller, worker._shutdown_event):
            try:
                return poll_once()
            except empty_poll_error:
                # Another poller or receiver took what woke this one: wait again (after a
                # breath, so that a message the receive cannot take never makes this spin).
                worker._shutdown_event.wait(0.02)
        raise empty_poll_error(service="sqs", source_arn=poller.source_arn)

    poller.poll_events = poll_events
    poller._fnmesh_long_polling = True


def install_sqs_pollers(environ=os.environ) -> int:
    """Patches LocalStack's event source mapping worker: long polling, and the extra pollers.
    @returns the pollers per standard-queue mapping"""
    count = pollers_from_environment(environ)
    long_poll = long_polling(environ)
    if count <= 1 and not long_poll:
        return count

    from localstack import config as localstack_config
    from localstack.services.lambda_.event_source_mapping.esm_worker import EsmWorker
    from localstack.services.lambda_.event_source_mapping.pollers.poller import (
        EmptyPollResultsException,
    )
    from localstack.services.lambda_.event_source_mapping.pollers.sqs_poller import SqsPoller

    original_start = EsmWorker.start

    def extra_poller_loop(worker: EsmWorker, generation: int) -> None:
        poll_interval = localstack_config.LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC
        while not worker._shutdown_event.is_set() and worker._fnmesh_generation == generation:
            wait = poll_interval
            try:
                worker.poller.poll_events()
            except EmptyPollResultsException:
                wait = IDLE_WAIT_SECONDS
            except Exception as e:  # the main poller logs and counts errors; this one only waits
                LOG.debug("extra SQS poller of %s: %s", worker.uuid, e)
                wait = ERROR_WAIT_SECONDS
            worker._shutdown_event.wait(wait)

    def standard_sqs_poller(worker: EsmWorker):
        poller = getattr(worker, "poller", None)
        if not isinstance(poller, SqsPoller):
            return None
        try:
            return None if poller.is_fifo_queue else poller
        except Exception:  # its attributes unreadable now: leave it as LocalStack made it
            return None

    def start(self: EsmWorker) -> None:
        poller = standard_sqs_poller(self)
        if poller is not None and long_poll and not poller.maximum_batching_window:
            _poll_when_there_is_work(self, poller, EmptyPollResultsException)
        original_start(self)
        if poller is None or count <= 1:
            return
        self._fnmesh_generation = getattr(self, "_fnmesh_generation", 0) + 1
        for index in range(1, count):
            threading.Thread(
                target=extra_poller_loop,
                args=(self, self._fnmesh_generation),
                name=f"event-source-mapping-poller-{self.uuid}-{index}",
                daemon=True,
            ).start()

    EsmWorker.start = start
    LOG.info("fnmesh: %d pollers per SQS event source mapping (standard queues), long polling %s", count, "on" if long_poll else "off")
    return count
