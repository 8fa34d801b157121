"""pytest plugin for ``npm run fidelity``: LocalStack's test harness pointed at the port LocalStack runs on.

LocalStack's ``tests/aws/conftest.py`` fixes the gateway the tests believe in to port 4566, and a
few tests build URLs from it (``config.internal_service_url()``) instead of from
``TEST_AWS_ENDPOINT_URL``. The fidelity run starts its own LocalStack on another port, so after
the conftests have configured themselves this sets that gateway to the port of
``TEST_AWS_ENDPOINT_URL``: what the tests would see had LocalStack run on 4566. No test is changed.
"""

import os
from urllib.parse import urlparse

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    endpoint = os.environ.get("TEST_AWS_ENDPOINT_URL")
    if not endpoint:
        return
    from localstack import config

    url = urlparse(endpoint)
    config.GATEWAY_LISTEN = config.UniqueHostAndPortList([config.HostAndPort(host="0.0.0.0", port=url.port)])
