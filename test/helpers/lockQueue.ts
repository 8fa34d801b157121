/**
 * The starvation-mode queue on a lock item (lib/sync/mutexQueue.ts) as the lock tests write and
 * read it: a queued waiter's ticket written as the waiter writes it, and the tokens queued.
 */
import { type AttributeValue, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { QUEUE_UNTIL, ticketAttribute, ticketsOf } from '../../lib/sync/mutexQueue.ts';

/**
 * Writes a queued waiter's ticket (queued at `queuedAt`, leased until `until`) and the gate it
 * sets. `withVersion`: also the item's format version, for an item nobody wrote yet (a Mutex's).
 */
export async function writeQueuedTicket(
  dynamodb: DynamoDBClient,
  target: { tableName: string; key: Record<string, AttributeValue> },
  ticket: { queuedAt: number; token: string; until: number; withVersion?: boolean },
): Promise<void> {
  await dynamodb.send(
    new UpdateItemCommand({
      TableName: target.tableName,
      Key: target.key,
      UpdateExpression: ticket.withVersion ? 'SET #w = :w, #q = :w, #v = :v' : 'SET #w = :w, #q = :w',
      ExpressionAttributeNames: {
        '#w': ticketAttribute(ticket.queuedAt, ticket.token),
        '#q': QUEUE_UNTIL,
        ...(ticket.withVersion ? { '#v': 'v' } : {}),
      },
      ExpressionAttributeValues: { ':w': { N: String(ticket.until) }, ...(ticket.withVersion ? { ':v': { N: '1' } } : {}) },
    }),
  );
}

/** The tokens queued on `item`, oldest asker first. */
export const queuedTokens = (item: Record<string, AttributeValue> | undefined): string[] => ticketsOf(item).map((ticket) => ticket.token);

/** Polls `condition` every 20 ms until it holds (the test's timeout bounds it). */
export async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}
