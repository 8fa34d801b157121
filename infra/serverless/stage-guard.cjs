'use strict';
// Serverless Framework plugin: keeps the `local` stage on LocalStack, and only there.
//
// For stage `local` it points the AWS SDK inside the CLI at LocalStack (AWS_ENDPOINT_URL,
// default http://127.0.0.1:4566 or the port in FNMESH_LOCALSTACK_PORT, which osls honours by itself) with LocalStack's dummy
// credentials, and refuses to run if the endpoint is anything but a loopback address: a `local`
// deploy can never reach real AWS by accident. Any other stage is left untouched.
//
// `serverless remove` probes ECR for the service's image repository; LocalStack's open-source
// build has no ECR (and fnmesh's process executor runs no images), so on stage `local` the probe
// answers "no repository" instead of failing the removal.
//
// On every stage it leaves the local cloud's state (`.localstack/`, `.localstack-<port>/`: the
// log, pid and LocalStack's files, which `fnmesh local up` keeps in the project) out of the
// functions' packages.

const LOCAL_STAGE = 'local';
const DEFAULT_ENDPOINT = 'http://127.0.0.1:4566';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const LOCAL_STATE_PATTERNS = ['!.localstack/**', '!.localstack-*/**'];

function isLoopback(endpoint) {
  let url;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  return LOOPBACK_HOSTS.has(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
}

class StageGuard {
  constructor(serverless, options) {
    const service = serverless.service;
    service.package = service.package || {};
    service.package.patterns = [...(service.package.patterns || []), ...LOCAL_STATE_PATTERNS];
    const stage = options.stage || serverless.service.provider.stage || LOCAL_STAGE;
    if (stage !== LOCAL_STAGE) return;
    const env = process.env;
    if (!env.AWS_ENDPOINT_URL) {
      const port = env.FNMESH_LOCALSTACK_PORT;
      env.AWS_ENDPOINT_URL = env.FNMESH_LOCALSTACK_ENDPOINT || (port ? `http://127.0.0.1:${port}` : DEFAULT_ENDPOINT);
    }
    if (!isLoopback(env.AWS_ENDPOINT_URL)) {
      throw new serverless.classes.Error(
        `Stage "local" deploys only to LocalStack on this machine, but AWS_ENDPOINT_URL is ${env.AWS_ENDPOINT_URL}. ` +
          'Use a loopback endpoint (http://127.0.0.1:4566) or another stage for real AWS.',
        'FNMESH_LOCAL_STAGE_NOT_LOOPBACK',
      );
    }
    // LocalStack accepts any credentials; never send real ones to it.
    env.AWS_ACCESS_KEY_ID = 'test';
    env.AWS_SECRET_ACCESS_KEY = 'test';
    delete env.AWS_SESSION_TOKEN;
    delete env.AWS_PROFILE;
    env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
    // osls looks at a deploying stack every 5 s (AWS's pace); a local cloud's CloudFormation is
    // done in seconds, and a look costs it a millisecond: every half second a fresh deploy ends
    // sooner (measured: 29 s -> 23 s for this repository's stack). A value already set wins.
    env.SLS_AWS_MONITORING_FREQUENCY = env.SLS_AWS_MONITORING_FREQUENCY || '500';

    this.hooks = {
      'before:remove:remove': () => {
        const remover = serverless.pluginManager.plugins.find((plugin) => typeof plugin.checkIfEcrRepositoryExists === 'function');
        if (remover) remover.checkIfEcrRepositoryExists = async () => false;
      },
    };
  }
}

StageGuard.isLoopback = isLoopback;
module.exports = StageGuard;
