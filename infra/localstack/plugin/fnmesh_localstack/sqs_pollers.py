"""Concurrent pollers for SQS event source mappings, as AWS has them.

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


def install_concurrent_sqs_pollers(environ=os.environ) -> int:
    """Patches LocalStack's event source mapping worker to start the extra pollers. @returns n"""
    count = pollers_from_environment(environ)
    if count <= 1:
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

    def start(self: EsmWorker) -> None:
        original_start(self)
        poller = getattr(self, "poller", None)
        if not isinstance(poller, SqsPoller):
            return
        try:
            if poller.is_fifo_queue:
                return
        except Exception:  # its attributes unreadable now: stay with LocalStack's one poller
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
    LOG.info("fnmesh: %d pollers per SQS event source mapping (standard queues)", count)
    return count
