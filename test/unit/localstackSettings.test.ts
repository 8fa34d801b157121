import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  FORBIDDEN_FALLBACKS,
  LOCALSTACK_PORT,
  localstackEnvironment,
  PLUGIN_MARKERS,
  projectRoot,
} from '../../infra/localstack/localstack.ts';

describe('LocalStack settings', () => {
  it('selects fnmesh plugins and keeps everything on loopback and offline', () => {
    const env = localstackEnvironment();

    expect(env).toMatchObject({
      LAMBDA_RUNTIME_EXECUTOR: 'process',
      PROVIDER_OVERRIDE_DYNAMODB: 'moto',
      PROVIDER_OVERRIDE_DYNAMODBSTREAMS: 'fnmesh',
      GATEWAY_LISTEN: `127.0.0.1:${LOCALSTACK_PORT}`,
      DNS_ADDRESS: '0',
      SKIP_SSL_CERT_DOWNLOAD: '1',
      DISABLE_EVENTS: '1',
      OVERRIDE_IN_DOCKER: '0',
      SQS_ENDPOINT_STRATEGY: 'path',
    });
    expect(env.API_ENDPOINT).toMatch(/^http:\/\/127\.0\.0\.1:/);
  });

  // The warnings LocalStack 2026.3.0 logs when it silently falls back (from its source).
  it.each([
    [
      'the docker executor',
      'WARN --- [ MainThread] l.s.l.i.runtime_executor : Invalid specified plugin name process. Falling back to "docker" runtime executor',
    ],
    [
      'DynamoDB Local',
      'WARN --- [ MainThread] l.services.plugins : Configured provider (moto) does not exist for service (dynamodb). Available options are: default, v2.',
    ],
    ['a service that failed to load', 'ERROR --- [ MainThread] l.services.plugins : could not load service plugin dynamodb'],
    ['a DynamoDB Local install', 'INFO --- [ Thread-3 ] l.p.api : Installation of dynamodb-local started.'],
    [
      'kinesis-mock (for DynamoDB Streams)',
      'INFO --- [-functhread4] l.s.k.kinesis_mock_server : [info] kinesis.mock.KinesisMockService$ Starting Kinesis Plain Mock Service on port 48813',
    ],
  ])('recognises a fallback to %s', (_, line) => {
    expect(FORBIDDEN_FALLBACKS.some((pattern) => pattern.test(line))).toBe(true);
  });

  it('does not mistake a clean start for a fallback', () => {
    const clean = ['LocalStack version: 2026.3.0', 'Execution of "require" took 530.79ms', 'Ready.'].join('\n');

    expect(FORBIDDEN_FALLBACKS.some((pattern) => pattern.test(clean))).toBe(false);
  });
});

describe('plugin markers', () => {
  it('are the lines the Python plugin logs', () => {
    const plugin = readFileSync(`${projectRoot}/infra/localstack/plugin/fnmesh_localstack/plugins.py`, 'utf8');

    for (const marker of PLUGIN_MARKERS) expect(plugin).toContain(`"${marker}"`);
  });
});
