/** Once across concurrent callers, failures and a crashed runner. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnceFailedError } from '../../lib/errors.ts';
import { Once } from '../../lib/sync/Once.ts';
import { dynamodb, uniqueSuffix } from '../helpers/aws.ts';
import { createMeshTable, deleteMeshTable } from '../helpers/meshTable.ts';

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
});
