import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const StageGuard = createRequire(import.meta.url)('../../infra/serverless/stage-guard.cjs');

describe('stage guard', () => {
  describe('isLoopback', () => {
    it.each(['http://127.0.0.1:4566', 'http://localhost:4566', 'http://[::1]:4566', 'https://127.0.0.2', 'http://localhost'])(
      'accepts %s',
      (endpoint) => expect(StageGuard.isLoopback(endpoint)).toBe(true),
    );

    it.each([
      'http://10.0.0.5:4566',
      'https://dynamodb.us-east-1.amazonaws.com',
      'http://localhost.example.com:4566',
      'http://127.0.0.1.nip.io:4566',
      'not a url',
      '',
    ])('refuses %s', (endpoint) => expect(StageGuard.isLoopback(endpoint)).toBe(false));
  });

  describe('constructor', () => {
    const fakeServerless = (stage?: string, service: Record<string, unknown> = {}) => ({
      service: { provider: { stage }, ...service },
      classes: { Error: class extends Error {} },
    });

    it('points stage local at LocalStack with dummy credentials when nothing is set', () => {
      const saved = { ...process.env };
      try {
        delete process.env.AWS_ENDPOINT_URL;
        delete process.env.FNMESH_LOCALSTACK_PORT;
        process.env.AWS_PROFILE = 'production';

        new StageGuard(fakeServerless('local'), { stage: 'local' });

        expect(process.env.AWS_ENDPOINT_URL).toBe('http://127.0.0.1:4566');
        expect(process.env.AWS_ACCESS_KEY_ID).toBe('test');
        expect(process.env.AWS_PROFILE).toBeUndefined();
      } finally {
        process.env = saved;
      }
    });

    it("watches a deploy on stage local every half second, unless told otherwise; AWS's 5 s elsewhere", () => {
      const saved = { ...process.env };
      try {
        delete process.env.SLS_AWS_MONITORING_FREQUENCY;
        new StageGuard(fakeServerless('local'), { stage: 'local' });
        expect(process.env.SLS_AWS_MONITORING_FREQUENCY).toBe('500');

        process.env.SLS_AWS_MONITORING_FREQUENCY = '2000';
        new StageGuard(fakeServerless('local'), { stage: 'local' });
        expect(process.env.SLS_AWS_MONITORING_FREQUENCY).toBe('2000');

        delete process.env.SLS_AWS_MONITORING_FREQUENCY;
        new StageGuard(fakeServerless('local'), { stage: 'prod' });
        expect(process.env.SLS_AWS_MONITORING_FREQUENCY).toBeUndefined();
      } finally {
        process.env = saved;
      }
    });

    it('leaves any other stage alone', () => {
      const saved = { ...process.env };
      try {
        process.env.AWS_ENDPOINT_URL = 'https://example.com';
        process.env.AWS_PROFILE = 'production';

        new StageGuard(fakeServerless('local'), { stage: 'prod' });

        expect(process.env.AWS_ENDPOINT_URL).toBe('https://example.com');
        expect(process.env.AWS_PROFILE).toBe('production');
      } finally {
        process.env = saved;
      }
    });

    it.each(['local', 'prod'])(
      "leaves the local cloud's state out of the packages on stage %s, keeping the service's patterns",
      (stage) => {
        const saved = { ...process.env };
        try {
          const serverless = fakeServerless(stage, { package: { patterns: ['!docs/**'] } });
          new StageGuard(serverless, { stage });
          expect((serverless.service as unknown as { package: { patterns: string[] } }).package.patterns).toEqual([
            '!docs/**',
            '!.localstack/**',
            '!.localstack-*/**',
          ]);
        } finally {
          process.env = saved;
        }
      },
    );
  });
});
