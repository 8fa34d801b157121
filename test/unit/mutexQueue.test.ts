/**
 * The pure rules of the Mutex's starvation mode (lib/sync/mutexQueue.ts): on any lock item (any
 * holder, any tickets, live or expired, any gate), which waiter may try the grant. Mutual exclusion
 * never depends on these rules (the grant's own condition keeps it), so what they must give is
 * order: only the oldest live ticket tries, a newcomer never overtakes a live ticket, a dead
 * ticket never blocks the queue, and the lock is never tried while another's live lease holds it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Item } from '../../lib/table/layout.ts';
import { decide, gateLive, QUEUE_UNTIL, sharedTicketToken, ticketAttribute, ticketsOf } from '../../lib/sync/mutexQueue.ts';

const NOW = 1_000_000;
const SKEW = 100;
const EXPIRED_BEFORE = NOW - SKEW;

const until = fc.oneof(fc.integer({ min: NOW - 3_000, max: NOW + 3_000 }), fc.constant(EXPIRED_BEFORE), fc.constant(EXPIRED_BEFORE - 1));
const waiterToken = fc.constantFrom('a/1', 'b/2', 'c/3', 'd/4', 'e/5', 'f/6');

/** A lock item: maybe a holder, tickets of distinct waiters (asked at distinct times), maybe a gate. */
const lockItem = fc
  .record({
    owner: fc.option(fc.constantFrom('a/1', 'b/2', 'holder/9'), { nil: undefined }),
    leaseUntil: until,
    fence: fc.nat({ max: 1000 }),
    tickets: fc.uniqueArray(fc.record({ token: waiterToken, askedAt: fc.integer({ min: NOW - 5_000, max: NOW }), until }), {
      selector: (ticket) => ticket.token,
      maxLength: 6,
    }),
    gate: fc.option(until, { nil: undefined }),
  })
  .map(({ owner, leaseUntil, fence, tickets, gate }) => {
    const item: Item = { pk: { S: 'mutex#x' }, sk: { S: 'lock' }, v: { N: '1' }, fence: { N: String(fence) } };
    if (owner) Object.assign(item, { owner: { S: owner }, leaseUntil: { N: String(leaseUntil) } });
    for (const ticket of tickets) item[ticketAttribute(ticket.askedAt, ticket.token)] = { N: String(ticket.until) };
    if (gate !== undefined) item[QUEUE_UNTIL] = { N: String(gate) };
    return item;
  });

const viewOf = (item: Item, token: string) => {
  const ticket = ticketsOf(item).find((t) => t.token === token)?.attribute;
  return { token, ticket, expiredBefore: EXPIRED_BEFORE };
};

const liveOtherHolder = (item: Item, token: string) =>
  item.owner?.S !== undefined && item.owner.S !== token && Number(item.leaseUntil!.N) >= EXPIRED_BEFORE;

describe('starvation mode: who may try the grant', () => {
  it('orders tickets by the time their waiter first asked, whatever the token', () => {
    const item: Item = {
      [ticketAttribute(NOW - 10, 'z/late')]: { N: String(NOW) },
      [ticketAttribute(NOW - 2000, 'zz/early')]: { N: String(NOW) },
      [ticketAttribute(NOW - 500, 'a/middle')]: { N: String(NOW) },
    };
    expect(ticketsOf(item).map((t) => t.token)).toEqual(['zz/early', 'a/middle', 'z/late']);
    expect(ticketsOf(item)[0]).toMatchObject({ askedAt: NOW - 2000, until: NOW });
  });

  it('lets at most one live ticket try, the oldest, and never past a live holder', () => {
    fc.assert(
      fc.property(lockItem, (item) => {
        const tickets = ticketsOf(item);
        const trying = tickets.filter((t) => decide(item, viewOf(item, t.token)).kind === 'grant');
        const live = tickets.filter((t) => t.until >= EXPIRED_BEFORE);
        expect(trying.filter((t) => live.includes(t)).length).toBeLessThanOrEqual(1);
        for (const ticket of trying) {
          expect(liveOtherHolder(item, ticket.token)).toBe(false);
          // No live ticket is older than the one that tries; a waiter whose own ticket expired has
          // lost its place: it may try only as a newcomer may, when no live ticket is left.
          expect(live.filter((t) => t.attribute < ticket.attribute)).toEqual([]);
          if (!live.includes(ticket)) expect(live).toEqual([]);
        }
        // The oldest live ticket tries whenever nobody else's live lease holds the lock.
        const head = live[0];
        if (head && !liveOtherHolder(item, head.token) && item.owner?.S !== head.token)
          expect(trying.map((t) => t.token)).toEqual([head.token]);
      }),
    );
  });

  it('never lets a newcomer (no ticket) overtake a live ticket; lets it in when every ticket is dead', () => {
    fc.assert(
      fc.property(lockItem, (item) => {
        const decision = decide(item, { token: 'newcomer/0', ticket: undefined, expiredBefore: EXPIRED_BEFORE });
        const live = ticketsOf(item).filter((t) => t.until >= EXPIRED_BEFORE);
        if (live.length > 0) expect(decision).toMatchObject({ kind: 'wait', position: live.length });
        else expect(decision.kind).toBe(liveOtherHolder(item, 'newcomer/0') ? 'wait' : 'grant');
        if (decision.kind === 'grant') {
          // Dead tickets are swept by the grant, and the gate is closed if one is there.
          expect(decision.dead.sort()).toEqual(
            ticketsOf(item)
              .map((t) => t.attribute)
              .sort(),
          );
          expect(decision.closeGate).toBe(item[QUEUE_UNTIL] !== undefined);
        }
      }),
    );
  });

  it('closes the gate only with the last live ticket, and sweeps only dead ones', () => {
    fc.assert(
      fc.property(lockItem, (item) => {
        for (const ticket of ticketsOf(item)) {
          const decision = decide(item, viewOf(item, ticket.token));
          if (decision.kind !== 'grant') continue;
          const others = ticketsOf(item).filter((t) => t.attribute !== ticket.attribute && t.until >= EXPIRED_BEFORE);
          expect(decision.closeGate).toBe(others.length === 0 && item[QUEUE_UNTIL] !== undefined);
          for (const dead of decision.dead) expect(Number(item[dead]!.N)).toBeLessThan(EXPIRED_BEFORE);
          expect(decision.dead).not.toContain(ticket.attribute);
        }
      }),
    );
  });

  it('lets a shared waiter (an RWMutex reader) past shared tickets ahead of it, never past an exclusive one; an exclusive one passes nothing', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }), fc.boolean(), (sharedAhead, shared) => {
        // Live tickets: one per entry of sharedAhead (true: a reader's), then ours; the lock is free.
        const item: Item = { pk: { S: 'rwmutex#x' }, sk: { S: 'lock' } };
        sharedAhead.forEach((isReader, i) => {
          const token = `t${i}/${i}`;
          item[ticketAttribute(NOW - 1000 + i, isReader ? sharedTicketToken(token) : token)] = { N: String(NOW + 1000) };
        });
        const mine = ticketAttribute(NOW, shared ? sharedTicketToken('me/1') : 'me/1');
        item[mine] = { N: String(NOW + 1000) };
        const view = { token: 'me/1', ticket: mine, expiredBefore: EXPIRED_BEFORE };
        const free = { held: undefined, holderUntil: undefined };

        const decision = decide(item, view, free, shared);

        const blocking = shared ? sharedAhead.filter((isReader) => !isReader).length : sharedAhead.length;
        if (blocking === 0) expect(decision.kind).toBe('grant');
        else expect(decision).toMatchObject({ kind: 'wait', position: blocking });
      }),
    );
  });

  it('reports a grant of ours applied already (its answer lost) as held, and says how far back a waiter stands', () => {
    const item: Item = {
      owner: { S: 'me/1' },
      leaseUntil: { N: String(NOW + 5000) },
      [ticketAttribute(NOW - 300, 'a/1')]: { N: String(NOW + 1000) },
      [ticketAttribute(NOW - 200, 'b/2')]: { N: String(EXPIRED_BEFORE - 1) }, // dead: skipped
      [ticketAttribute(NOW - 100, 'c/3')]: { N: String(NOW + 1000) },
      [QUEUE_UNTIL]: { N: String(NOW + 1000) },
    };
    expect(decide(item, { token: 'me/1', ticket: undefined, expiredBefore: EXPIRED_BEFORE })).toEqual({ kind: 'held', until: NOW + 5000 });
    expect(decide(item, viewOf(item, 'c/3'))).toEqual({
      kind: 'wait',
      position: 1,
      ahead: [ticketAttribute(NOW - 300, 'a/1')],
      holderUntil: NOW + 5000,
      holder: 'me/1',
    });
    expect(gateLive(item, EXPIRED_BEFORE)).toBe(true);
    expect(gateLive({ [QUEUE_UNTIL]: { N: String(EXPIRED_BEFORE - 1) } }, EXPIRED_BEFORE)).toBe(false);
    expect(gateLive({}, EXPIRED_BEFORE)).toBe(false);
  });
});
