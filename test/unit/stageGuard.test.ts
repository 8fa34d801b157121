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
    const fakeServerless = (stage?: string) => ({
      service: { provider: { stage } },
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
  });
});
