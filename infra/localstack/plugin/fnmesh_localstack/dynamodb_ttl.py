"""Time to live for moto's tables: expired items are deleted in the background.

On a table whose TTL is enabled (UpdateTimeToLive), DynamoDB deletes an item once the number in its
TTL attribute, epoch seconds, is in the past; AWS does it in the background, typically within a few
days. Here a sweeper thread does it every ``FNMESH_DYNAMODB_TTL_SWEEP_SECONDS`` seconds (default
``DEFAULT_SWEEP_SECONDS``), so an expired item disappears within that delay. As on AWS:

* only a Number attribute counts (an item without it, or with another type, never expires), and an
  expiry more than five years in the past is ignored;
* the deletion is the service's: on a table with a stream it is a REMOVE record with
  ``userIdentity`` ``{Type: Service, PrincipalId: dynamodb.amazonaws.com}``.

Each sweep holds the lock every DynamoDB operation runs under (``dynamodb.py``), so it never races
a conditional write: a write that sees an item sees it before or after the sweep, never during.
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


def _items(table):
    for hash_value, entry in list(table.items.items()):
        if table.range_key_attr is None:
            yield hash_value, None, entry
        else:
            for range_value, item in list(entry.items()):
                yield hash_value, range_value, item


def sweep(now: float | None = None) -> int:
    """Deletes every expired item of every table with TTL enabled; how many it deleted.
    The caller holds the moto lock."""
    from moto.dynamodb.models import dynamodb_backends

    now = time.time() if now is None else now
    deleted = 0
    for regions in list(dynamodb_backends.values()):
        for backend in list(regions.values()):
            for table in list(backend.tables.values()):
                ttl = getattr(table, "ttl", None) or {}
                if ttl.get("TimeToLiveStatus") != "ENABLED" or not ttl.get("AttributeName"):
                    continue
                expired = [(h, r) for h, r, item in _items(table) if _expired(item, ttl["AttributeName"], now)]
                for hash_value, range_value in expired:
                    with dynamodb_streams.recording(dynamodb_streams.SERVICE_IDENTITY):
                        table.delete_item(hash_value, range_value)
                deleted += len(expired)
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
                with lock:
                    deleted = sweep()
                if deleted:
                    LOG.debug("fnmesh: TTL deleted %d expired items", deleted)
            except Exception:
                LOG.exception("fnmesh: TTL sweep failed")

    threading.Thread(target=run, name="fnmesh-dynamodb-ttl", daemon=True).start()
    LOG.info("fnmesh: DynamoDB TTL: expired items are deleted every %s s (%s)", interval, SWEEP_SETTING)
