"""FIFO queues keep a message group blocked while any of its messages is in flight, as AWS's do.

AWS: once a message of a group is received, no later message of that group is returned until it
is deleted or visible again ("Amazon SQS FIFO queue ... message group", SQS Developer Guide).
LocalStack made the group visible as soon as any received message of it became visible again,
e.g. a later one handed back (ChangeMessageVisibility 0) while an earlier one is still in flight:
the later one was then delivered first, and the group's order broken. Here such a message goes
back into its group (a heap by sequence number) and the group stays blocked; it becomes visible
when its last message in flight is deleted or visible again (LocalStack's own
``update_message_group_visibility`` and this, for the message that comes back last).
"""


def install() -> None:
    from localstack.services.sqs.models import FifoQueue

    original = FifoQueue._put_message
    if getattr(original, "fnmesh_fifo", False):
        return

    def put_message(self, message) -> None:
        group_id = message.message_group_id
        with self.mutex:
            group = self.get_message_group(group_id)
            in_flight = group in self.inflight_groups and any(other.message_group_id == group_id for other in self.inflight)
            if not in_flight:
                return original(self, message)
            group.push(message)

    put_message.fnmesh_fifo = True
    FifoQueue._put_message = put_message
