"""Lambda function URLs that are callable from this machine as CreateFunctionUrlConfig returns them.

LocalStack gives a function URL a host of its own, ``<url-id>.lambda-url.<region>.<LOCALSTACK_HOST>``,
and routes requests by that Host header. On AWS such a name resolves through public DNS; here
``<id>.lambda-url.us-east-1.127.0.0.1`` resolves nowhere, and neither does ``<id>...localhost`` (glibc
does not map subdomains of localhost to loopback). So the URLs LocalStack returns are rewritten to a
path on the gateway, ``http://<LOCALSTACK_HOST>/_fnmesh/lambda-url/<url-id>/``, and a request there
is handed to LocalStack's own function URL route with the host and path it would have had: the
function sees the same event (rawPath, headers, requestContext) as through the host name, which
still works for a client that sets the Host header itself.
"""

import logging

from localstack import config
from localstack.http import Request, Response
from localstack.services.lambda_ import provider as lambda_provider
from localstack.services.lambda_.invocation.lambda_models import FunctionUrlConfig
from localstack.services.lambda_.invocation.models import lambda_stores
from localstack.utils.urls import localstack_host

LOG = logging.getLogger(__name__)

PREFIX = "/_fnmesh/lambda-url"


def _find(url_id: str):
    """(region, url config) of the function URL with this id, in any account."""
    for account_id in lambda_stores.keys():
        for region, store in lambda_stores[account_id].items():
            for fn in store.functions.values():
                for url_config in fn.function_url_configs.values():
                    if url_config.url_id.lower() == url_id.lower():
                        return region, url_config
    return None, None


def _path_style_config(*args, **kwargs) -> FunctionUrlConfig:
    """LocalStack's URL config, its ``http://<id>.lambda-url.<region>.<host>/`` turned into
    ``http://<host>/_fnmesh/lambda-url/<id>/``."""
    url_config = FunctionUrlConfig(*args, **kwargs)
    scheme, _, rest = url_config.url.partition("://")
    if ".lambda-url." in rest:
        host = rest.rstrip("/").split(".lambda-url.", 1)[1].split(".", 1)[1]
        url_config.url = f"{scheme}://{host}{PREFIX}/{url_config.url_id}/"
    return url_config


def _serve(request: Request, url_id: str, path: str = "") -> Response:
    from localstack.services.edge import ROUTER

    region, url_config = _find(url_id)
    if url_config is None:
        # What LocalStack answers for an unknown function URL host.
        response = Response('{"Message":null}', status=403, mimetype="application/json")
        response.headers["x-amzn-ErrorType"] = "AccessDeniedException"
        return response
    gateway = localstack_host(custom_port=config.GATEWAY_LISTEN[0].port)
    host = f"{url_config.url_id}.lambda-url.{region}.{gateway.host_and_port()}"
    # Clients differ in the case of header names ("host" from Node's fetch): replace it whatever it is.
    headers = {name: value for name, value in request.headers.items() if name.lower() != "host"}
    headers["Host"] = host
    forwarded = Request(
        method=request.method,
        path="/" + path,
        headers=headers,
        body=request.get_data(),
        scheme=request.scheme,
        query_string=request.query_string,
        remote_addr=request.remote_addr,
        server=request.server,
    )
    LOG.debug("function URL %s (%s): %s %s", url_id, region, request.method, forwarded.path)
    return ROUTER.dispatch(forwarded)


def install_function_urls() -> None:
    from localstack.services.edge import ROUTER

    ROUTER.add(f"{PREFIX}/<url_id>/", _serve)
    ROUTER.add(f"{PREFIX}/<url_id>/<path:path>", _serve)

    # The provider builds each URL config by this name at call time (create; update copies it).
    lambda_provider.FunctionUrlConfig = _path_style_config
    LOG.info("fnmesh: function URLs are served on loopback under %s/<url-id>/", PREFIX)
