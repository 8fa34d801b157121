"""Global tables (version 2019.11.21) for moto's tables: replicas in other regions.

moto ignores ``UpdateTable``'s ``ReplicaUpdates``. Here ``Create`` makes the table in the other
region (same keys, indexes, billing and items, a stream of its own), and from then on every change
to an item in one replica is applied to the others, each recording it in its own stream, as AWS's
replication does. ``Delete`` (or ``DeleteTable`` in a replica's region) removes that replica.
Descriptions list the other replicas (``Replicas``, ``GlobalTableVersion``).

Replication runs inside the operation that made the change, under the moto lock
(``dynamodb_streams.CHANGE_LISTENERS``), so replicas never diverge; AWS's is asynchronous (usually
within a second), a difference a caller can only notice as "faster".
"""

import copy

from fnmesh_localstack import dynamodb_streams

GLOBAL_TABLE_VERSION = "2019.11.21"
# (account, table name) -> the regions holding a replica
_groups: dict[tuple[str, str], set[str]] = {}


def _backend(account_id: str, region: str):
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[account_id][region]


def _regions(table) -> set[str]:
    return _groups.get((table.account_id, table.name), set())


def _peers(table) -> list:
    peers = []
    for region in _regions(table) - {table.region_name}:
        peer = _backend(table.account_id, region).tables.get(table.name)
        if peer is not None:
            peers.append(peer)
    return peers


def _replicate(table, hash_value, range_value, item) -> None:
    for peer in _peers(table):
        current = peer.get_item(hash_value, range_value)
        if item is None:
            if current is not None:
                peer.delete_item(hash_value, range_value)
        elif current is None or current.to_json() != item.to_json():
            peer.put_item(copy.deepcopy(item.to_json()["Attributes"]))


def _create_replica(table, region: str) -> None:
    from moto.dynamodb.exceptions import MockValidationException

    if region == table.region_name:
        return  # the table itself (LocalStack's AWS::DynamoDB::GlobalTable lists every region, its own too)
    backend = _backend(table.account_id, region)
    if table.name in backend.tables:
        raise MockValidationException(
            f"Failed to create a the new replica of table with name: '{table.name}' because one or more "
            "replicas already existed as tables."
        )
    if dynamodb_streams.stream_of(table) is None:
        # AWS turns the stream on (new and old images) when a table gets its first replica.
        table.set_stream_specification({"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    replica = backend.create_table(
        table.name,
        schema=copy.deepcopy(table.schema),
        throughput=copy.deepcopy(table.throughput),
        attr=copy.deepcopy(table.attr),
        global_indexes=[index.describe() for index in table.global_indexes],
        indexes=[index.describe() for index in table.indexes],
        streams=None,
        billing_mode=table.billing_mode,
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    for item in table.all_items():  # the copy leaves no stream records: the replica's stream starts after it
        replica.put_item(copy.deepcopy(item.to_json()["Attributes"]))
    replica.set_stream_specification(dict(table.stream_specification))
    group = _groups.setdefault((table.account_id, table.name), {table.region_name})
    group.add(region)
    table.fnmesh_watched = replica.fnmesh_watched = True


def _forget(account_id: str, name: str, region: str) -> None:
    group = _groups.get((account_id, name))
    if group is None:
        return
    group.discard(region)
    if len(group) <= 1:
        for remaining in group:
            table = _backend(account_id, remaining).tables.get(name)
            if table is not None:
                table.fnmesh_watched = False
        del _groups[(account_id, name)]


def _update_table(handle):
    def update_table(self):
        updates = self.body.get("ReplicaUpdates") or []
        if updates:
            table = self.dynamodb_backend.get_table(self.body["TableName"])
            for update in updates:
                if "Create" in update:
                    _create_replica(table, update["Create"]["RegionName"])
                elif "Delete" in update:
                    region = update["Delete"]["RegionName"]
                    _backend(table.account_id, region).delete_table(table.name)
        return handle(self)

    return update_table


def _delete_table(original):
    def delete_table(self, name):
        table = original(self, name)
        _forget(table.account_id, table.name, table.region_name)
        return table

    return delete_table


def _describe(original):
    def describe(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        others = sorted(_regions(self) - {self.region_name})
        if others:
            description = next(iter(result.values()))
            description["GlobalTableVersion"] = GLOBAL_TABLE_VERSION
            description["Replicas"] = [{"RegionName": region, "ReplicaStatus": "ACTIVE"} for region in others]
        return result

    return describe


def install() -> None:
    """Adds replicas to moto's tables (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.update_table, "fnmesh_replicas", False):
        return
    DynamoHandler.update_table = _update_table(DynamoHandler.update_table)
    DynamoHandler.update_table.fnmesh_replicas = True
    DynamoDBBackend.delete_table = _delete_table(DynamoDBBackend.delete_table)
    Table.describe = _describe(Table.describe)
    dynamodb_streams.CHANGE_LISTENERS.append(_replicate)
