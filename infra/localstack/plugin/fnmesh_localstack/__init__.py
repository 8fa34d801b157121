"""fnmesh's LocalStack plugin.

The plugins that let LocalStack run fnmesh's stack on a machine without Docker:

* ``process``: a Lambda runtime executor that runs each execution environment as a host
  Node.js process (``LAMBDA_RUNTIME_EXECUTOR=process``);
* ``dynamodb:moto``: a DynamoDB provider served by moto, every operation serialized
  (``PROVIDER_OVERRIDE_DYNAMODB=moto``), answering as AWS answers (``dynamodb_answers.py``), with TTL
  expiry and global-table replicas;
* ``dynamodbstreams:fnmesh``: DynamoDB Streams over moto's tables
  (``PROVIDER_OVERRIDE_DYNAMODBSTREAMS=fnmesh``; no Kinesis);
* strict mode (``FNMESH_STRICT=1``): the adversities of AWS that a serialized local cloud lacks
  (transaction conflicts, hot-key throttling, duplicate deliveries), counted at ``/_fnmesh/strict``.
"""
