"""Time to live for moto's tables: expired items are deleted in the background.

On a table whose TTL is enabled (UpdateTimeToLive), DynamoDB deletes an item once the number in its
TTL attribute, epoch seconds, is in the past; AWS does it in the background, typically within a few
days. Here a sweeper thread does it every ``FNMESH_DYNAMODB_TTL_SWEEP_SECONDS`` seconds (default
``DEFAULT_SWEEP_SECONDS``), so an expired item disappears within that delay. As on AWS:

* only a Number attribute counts (an item without it, or with another type, never expires), and an
  expiry more than five years in the past is ignored;
* the deletion is the service's: on a table with a stream it is a REMOVE record with
  ``userIdentity`` ``{Type: Service, PrincipalId: dynamodb.amazonaws.com}``.

A sweep checks and deletes under the lock every DynamoDB operation runs under (``dynamodb.py``), so
it never races a conditional write: a write sees an expired item either still there or deleted. It
takes the lock a few hundred partitions at a time, so a large table's sweep never stalls requests.
"""

import logging
import os
import threading
import time

from fnmesh_localstack import dynamodb_streams

LOG = logging.getLogger(__name__)

SWEEP_SETTING = "FNMESH_DYNAMODB_TTL_SWEEP_SECONDS"
DEFAULT_SWEEP_SECONDS = 2.0
FIVE_YEARS_SECONDS = 5 * 365 * 24 * 3600

_started = False


def sweep_seconds(environ=os.environ) -> float:
    raw = environ.get(SWEEP_SETTING, "").strip()
    if not raw:
        return DEFAULT_SWEEP_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        LOG.warning("fnmesh: %s=%r is not a positive number of seconds; using %s", SWEEP_SETTING, raw, DEFAULT_SWEEP_SECONDS)
        return DEFAULT_SWEEP_SECONDS
    return value


def _expired(item, attribute: str, now: float) -> bool:
    value = item.attrs.get(attribute)
    if value is None or value.type != "N":
        return False
    try:
        expiry = float(value.value)
    except ValueError:
        return False
    return now - FIVE_YEARS_SECONDS <= expiry < now


CHUNK = 200  # partitions examined per hold of the lock


def _expire_in(table, hash_values, attribute: str, now: float) -> int:
    """Deletes the expired items among these partitions; the caller holds the moto lock."""
    deleted = 0
    for hash_value in hash_values:
        entry = table.items.get(hash_value)
        if entry is None:
            continue
        candidates = [(None, entry)] if table.range_key_attr is None else list(entry.items())
        for range_value, item in candidates:
            if _expired(item, attribute, now):
                with dynamodb_streams.recording(dynamodb_streams.SERVICE_IDENTITY):
                    table.delete_item(hash_value, range_value)
                deleted += 1
    return deleted


def sweep(lock, now: float | None = None) -> int:
    """Deletes every expired item of every table with TTL enabled; how many it deleted. Holds the
    lock a chunk of partitions at a time, so that a sweep of a large table never stalls requests."""
    from moto.dynamodb.models import dynamodb_backends

    now = time.time() if now is None else now
    with lock:
        tables = [
            (backend, table, table.ttl["AttributeName"])
            for regions in list(dynamodb_backends.values())
            for backend in list(regions.values())
            for table in list(backend.tables.values())
            if (getattr(table, "ttl", None) or {}).get("TimeToLiveStatus") == "ENABLED" and table.ttl.get("AttributeName")
        ]
    deleted = 0
    for backend, table, attribute in tables:
        with lock:
            partitions = list(table.items.keys())
        for start in range(0, len(partitions), CHUNK):
            with lock:
                if backend.tables.get(table.name) is not table:
                    break  # deleted meanwhile
                deleted += _expire_in(table, partitions[start : start + CHUNK], attribute, now)
    return deleted


def start(lock) -> None:
    """Starts the sweeper thread (once), sweeping under ``lock``."""
    global _started
    if _started:
        return
    _started = True
    interval = sweep_seconds()

    def run() -> None:
        while True:
            time.sleep(interval)
            try:
                deleted = sweep(lock)
                if deleted:
                    LOG.debug("fnmesh: TTL deleted %d expired items", deleted)
            except Exception:
                LOG.exception("fnmesh: TTL sweep failed")

    threading.Thread(target=run, name="fnmesh-dynamodb-ttl", daemon=True).start()
    LOG.info("fnmesh: DynamoDB TTL: expired items are deleted every %s s (%s)", interval, SWEEP_SETTING)
