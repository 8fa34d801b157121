/**
 * The library's handling of DynamoDB transaction conflicts (lib/internal/conflicts.ts). What a
 * real strict LocalStack does to the primitives is in test/integration/strictLibrary.test.ts; here,
 * the retry budget and the token, where a fake client shows what no real component can at will (a
 * conflict on every attempt, a lost answer on the Nth).
 */
import { type DynamoDBClient, TransactionCanceledException, TransactionConflictException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { TransactionConflictError } from '../../lib/errors.ts';
import { CONFLICT_RETRY, isTransientConflict, retryConflicts, transactWrite } from '../../lib/internal/conflicts.ts';

const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`,
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
const conflict = () =>
  new TransactionConflictException({
    message: 'Operation was rejected because there is an ongoing transaction for the item.',
    $metadata: {},
  });

describe('isTransientConflict', () => {
  it('retries conflicts and throttling, never a real refusal', () => {
    expect(isTransientConflict(conflict())).toBe(true);
    expect(isTransientConflict(cancelled('None', 'TransactionConflict'))).toBe(true);
    expect(isTransientConflict(cancelled('ThrottlingError'))).toBe(true);
    expect(isTransientConflict(cancelled('TransactionConflict', 'ConditionalCheckFailed'))).toBe(false);
    expect(isTransientConflict(cancelled('ConditionalCheckFailed'))).toBe(false);
    expect(isTransientConflict(cancelled('ValidationError'))).toBe(false);
    expect(isTransientConflict(cancelled('None'))).toBe(false);
    expect(isTransientConflict(new Error('socket hang up'))).toBe(false);
    expect(isTransientConflict('TransactionConflictException')).toBe(false);
  });
});

describe('retryConflicts', () => {
  it('retries until the write goes through', async () => {
    let calls = 0;
    const result = await retryConflicts('test write', undefined, async () => {
      calls += 1;
      if (calls < 3) throw conflict();
      return 'applied';
    });
    expect([result, calls]).toEqual(['applied', 3]);
  });

  it('gives up after its budget with a typed error naming the write, the last refusal as cause', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const settled = retryConflicts('channel tasks: count', undefined, async () => {
      calls += 1;
      throw cancelled('TransactionConflict');
    }).catch((error: unknown) => error);
    await vi.runAllTimersAsync();
    const err = await settled;
    vi.useRealTimers();
    expect(calls).toBe(CONFLICT_RETRY.attempts);
    expect(err).toBeInstanceOf(TransactionConflictError);
    expect(err).toMatchObject({ name: 'TransactionConflictError', operation: 'channel tasks: count', attempts: CONFLICT_RETRY.attempts });
    expect((err as Error).cause).toBeInstanceOf(TransactionCanceledException);
  });

  it('passes a condition failure through at once', async () => {
    let calls = 0;
    const refusal = cancelled('ConditionalCheckFailed');
    await expect(
      retryConflicts('test write', undefined, async () => {
        calls += 1;
        throw refusal;
      }),
    ).rejects.toBe(refusal);
    expect(calls).toBe(1);
  });

  it('stops waiting when the signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(
      retryConflicts('test write', controller.signal, async () => {
        throw conflict();
      }),
    ).rejects.toMatchObject({ name: 'MeshAbortError' });
  });
});

describe('transactWrite', () => {
  it('sends every attempt under one client request token, and keeps the caller’s', async () => {
    const tokens: (string | undefined)[] = [];
    const client = {
      send: async (command: { input: { ClientRequestToken?: string } }) => {
        tokens.push(command.input.ClientRequestToken);
        if (tokens.length < 3) throw cancelled('TransactionConflict');
        return { $metadata: {} };
      },
    } as unknown as DynamoDBClient;
    await transactWrite(client, 'test', { TransactItems: [] });
    expect(tokens).toHaveLength(3);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).toMatch(/^[0-9a-f-]{36}$/);

    tokens.length = 0;
    await transactWrite(client, 'test', { TransactItems: [], ClientRequestToken: 'mine' });
    expect(tokens).toEqual(['mine', 'mine', 'mine']);
  });
});
