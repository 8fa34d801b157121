/** Once across concurrent callers, failures and a crashed runner. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvalidInputError, OnceFailedError, PayloadTooLargeError } from '../../lib/errors.ts';
import { SdkFaults } from '../../lib/faults/sdkFaults.ts';
import { MAX_RESULT_BYTES, Once } from '../../lib/sync/Once.ts';
import { localConfig } from '../../infra/localstack/clients.ts';
import { createMeshTable, deleteMeshTable, dynamodb, uniqueSuffix } from '../../infra/localstack/resources.ts';

let tableName: string;

beforeAll(async () => {
  tableName = await createMeshTable('once');
});

afterAll(async () => {
  await deleteMeshTable(tableName);
});

const once = (options: Partial<ConstructorParameters<typeof Once>[0]> = {}) =>
  new Once({ client: dynamodb, tableName, clockSkewMs: 100, ...options });

describe('Once', () => {
  it('runs the function once for 10 concurrent callers, and all get its result', async () => {
    const key = `init-${uniqueSuffix()}`;
    let runs = 0;
    const fn = async () => {
      runs++;
      await new Promise((resolve) => setTimeout(resolve, 200));
      return { config: 'loaded', run: runs };
    };

    const results = await Promise.all(Array.from({ length: 10 }, () => once().do(key, fn)));

    expect(runs).toBe(1);
    for (const result of results) expect(result).toEqual({ config: 'loaded', run: 1 });
    expect(await once().do(key, fn)).toEqual({ config: 'loaded', run: 1 });
    expect(runs).toBe(1);
  });

  it('counts a failed run as done: the first caller gets the error, later ones OnceFailedError', async () => {
    const key = `broken-${uniqueSuffix()}`;
    const fn = async () => {
      throw new RangeError('bad config');
    };

    await expect(once().do(key, fn)).rejects.toBeInstanceOf(RangeError);
    const later = await once()
      .do(key, async () => 'never runs')
      .catch((err: unknown) => err);

    expect(later).toBeInstanceOf(OnceFailedError);
    expect(later).toMatchObject({ errorType: 'RangeError', errorMessage: 'bad config' });
  });

  it('a result or an error too large for the item is a failed run, recorded: fn never runs again for the key', async () => {
    const huge = 'x'.repeat(450_000); // DynamoDB's items hold 400 KB
    for (const fn of [async () => huge, async () => Promise.reject(new RangeError(huge))]) {
      const key = `huge-${uniqueSuffix()}`;
      let runs = 0;
      const counted = () => (runs++, fn());

      const first = await once({ leaseMs: 300 })
        .do(key, counted)
        .catch((err: unknown) => err);
      await new Promise((resolve) => setTimeout(resolve, 800)); // past the run's lease
      const later = await once({ leaseMs: 300 })
        .do(key, counted)
        .catch((err: unknown) => err);

      expect(runs).toBe(1);
      expect(first).toBeInstanceOf(Error); // PayloadTooLargeError, or fn's own RangeError
      expect(later).toBeInstanceOf(OnceFailedError);
      expect((later as OnceFailedError).errorMessage.length).toBeLessThanOrEqual(2000);
    }
    const resultError = await once()
      .do(`huge-result-${uniqueSuffix()}`, async () => huge)
      .catch((err: unknown) => err);
    expect(resultError).toBeInstanceOf(PayloadTooLargeError);
    // Just under the limit still fits the item, for every caller.
    const large = 'y'.repeat(MAX_RESULT_BYTES - 2); // its JSON adds the quotes
    const key = `large-${uniqueSuffix()}`;
    expect(await once().do(key, async () => large)).toBe(large);
    expect(await once().do(key, async () => 'never runs')).toBe(large);
  });

  it('is not wedged by a runner that crashes mid-run: the next caller takes over after its lease', async () => {
    const key = `crash-${uniqueSuffix()}`;
    // A "Lambda" with 400 ms left that never finishes: its lease ends with its time.
    const deadline = Date.now() + 400;
    const crashed = once({ remainingTimeMs: () => deadline - Date.now(), leaseMs: 5000 });
    void crashed.do(key, () => new Promise<never>(() => {})).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));

    const startedAt = Date.now();
    const fences: number[] = [];
    const result = await once({ leaseMs: 5000 }).do(
      key,
      async ({ fence }) => {
        fences.push(fence);
        return 'recovered';
      },
      { signal: AbortSignal.timeout(5000) },
    );

    expect(result).toBe('recovered');
    expect(fences).toEqual([2]); // the takeover run carries a larger fence than the crashed one
    expect(Date.now() - startedAt).toBeLessThan(2000);
  });

  const circular = (): unknown => {
    const node: Record<string, unknown> = { name: 'loop' };
    node.self = node;
    return node;
  };
  it.each([
    ['a BigInt', () => ({ total: 10n })],
    ['a circular object', circular],
    ['a function', () => () => 1],
  ])('a result JSON cannot hold (%s): InvalidInputError for the runner, the key done as failed, fn never run again', async (_, make) => {
    const key = `unstorable-${uniqueSuffix()}`;
    let runs = 0;
    const fn = async () => {
      runs++;
      return make();
    };
    const quick = { leaseMs: 300, heartbeatMs: 100 };
    const first = await once(quick)
      .do(key, fn)
      .catch((err: unknown) => err);
    expect(first).toBeInstanceOf(InvalidInputError);
    expect((first as InvalidInputError).path).toBe('result');
    await new Promise((resolve) => setTimeout(resolve, 800)); // past any lease: nothing may take over
    const later = await once(quick)
      .do(key, fn)
      .catch((err: unknown) => err);
    expect(later).toBeInstanceOf(OnceFailedError);
    expect(later).toMatchObject({ errorType: 'InvalidInputError' });
    expect(runs).toBe(1);
  });

  it('every caller, the runner included, gets the same value: the JSON round trip, and undefined as undefined', async () => {
    const dated = `dated-${uniqueSuffix()}`;
    const value = { at: new Date(0), missing: undefined, list: [1, 'two'] };
    const runner = await once().do(dated, async () => value);
    const later = await once().do(dated, async () => 'never runs');
    expect(runner).toEqual({ at: '1970-01-01T00:00:00.000Z', list: [1, 'two'] });
    expect(later).toEqual(runner);

    const nothing = `nothing-${uniqueSuffix()}`;
    expect(await once().do(nothing, async () => undefined)).toBeUndefined();
    expect(await once().do(nothing, async () => 'never runs')).toBeUndefined();
    const empty = `null-${uniqueSuffix()}`;
    expect(await once().do(empty, async () => null)).toBeNull();
    expect(await once().do(empty, async () => 'never runs')).toBeNull();
  });

  it('a claim applied whose answer was lost wins on the SDK’s retry instead of waiting out its own lease', async () => {
    const key = `lost-claim-${uniqueSuffix()}`;
    const faults = new SdkFaults({ rate: 1, seed: 3, kinds: ['ambiguous'], operations: ['UpdateItem'], limit: 1 });
    const client = faults.attach(new DynamoDBClient({ ...localConfig, maxAttempts: 3 }));
    const startedAt = Date.now();
    let runs = 0;
    const result = await new Once({ client, tableName, leaseMs: 10_000, clockSkewMs: 100 }).do(
      key,
      async () => {
        runs++;
        return 'ran';
      },
      { signal: AbortSignal.timeout(20_000) },
    );
    expect(faults.total).toBe(1); // the claim's answer was lost once
    expect([result, runs]).toEqual(['ran', 1]);
    expect(Date.now() - startedAt).toBeLessThan(5000); // not the 10 s lease
  });
});
