"""Strict mode for SQS: standard queues deliver some messages twice, as AWS's do.

AWS stores copies of each message on several servers; a copy on a server that was unavailable
when the message was received or deleted can be delivered again ("at-least-once delivery",
SQS Developer Guide). Here a standard queue, after handing a message out, puts a copy of it back
at a seeded rate: at once (a second receiver can get it while the first still holds it) or after
a random delay (typically after the first receiver deleted the original). The copy carries the
same MessageId, body and attributes, and has a receipt handle of its own.

FIFO queues are left alone: they keep exactly-once processing within the deduplication interval.
Lambda's internal queue of asynchronous invocations is a standard queue too (owned by LocalStack's
internal account); there the copy is an event delivered twice, at the Lambda rate.
"""

import copy
import time

from fnmesh_localstack import strict

SQS_DUPLICATE = "sqs-duplicate"
LAMBDA_ASYNC_DUPLICATE = "lambda-async-duplicate"


def _duplicate_some(queue, messages) -> None:
    from localstack import config
    from localstack.services.sqs.models import SqsMessage

    adversities = strict.ADVERSITIES
    settings = adversities.settings
    internal = queue.account_id == config.INTERNAL_RESOURCE_ACCOUNT
    kind, rate = (LAMBDA_ASYNC_DUPLICATE, settings.lambda_duplicate_rate) if internal else (SQS_DUPLICATE, settings.sqs_duplicate_rate)
    # Counted per queue; a function's internal event queue is named `<function name, 47 characters at
    # most>-<md5>`, so its duplicates are counted under the function's name.
    resource = queue.name.rsplit("-", 1)[0] if internal else queue.name
    if rate <= 0:
        return
    with queue.mutex:
        generator = getattr(queue, "fnmesh_strict_generator", None)
        if generator is None:
            generator = queue.fnmesh_strict_generator = adversities.generator(kind, queue.arn)
        for message in messages:
            if generator.random() >= rate:
                continue
            delay_ms = 0.0 if generator.random() < 0.5 else generator.uniform(0, settings.sqs_duplicate_max_delay_ms)
            duplicate = SqsMessage(time.time(), copy.deepcopy(message.message), message_group_id=message.message_group_id)
            duplicate.visibility_timeout = queue.visibility_timeout
            if delay_ms > 0:
                duplicate.delay_seconds = delay_ms / 1000
                queue.delayed.add(duplicate)
            else:
                queue._put_message(duplicate)
            adversities.record(kind, f"{queue.name} message {message.message_id} again in {delay_ms:.0f} ms", resource)


def install() -> None:
    from localstack.services.sqs.models import StandardQueue

    original = StandardQueue.receive
    if getattr(original, "fnmesh_strict", False):
        return

    def receive_at_least_once(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        if result.successful:
            _duplicate_some(self, result.successful)
        return result

    receive_at_least_once.fnmesh_strict = True
    StandardQueue.receive = receive_at_least_once
