/**
 * The lock rows `fnmesh status` and `fnmesh ui` show, from the reader's records of every lock kind
 * (pure: no table), and the busy-table mix bench:ui and the UI's scale tests fill a table with,
 * read back by the reader as the kinds it says it made.
 */
import { describe, expect, it } from 'vitest';
import { meshFillItems } from '../../bench/meshFill.ts';
import { lockRows } from '../../cli/commands/status.ts';
import { UI_KINDS } from '../../cli/ui/snapshot.ts';
import { meshItemsOf } from '../../lib/table/reader.ts';

describe('lockRows', () => {
  it('shows a Mutex, an RWMutex (writer, readers with their leases, a waiting writer) and a Semaphore (live permits of capacity), by name', () => {
    // Prepare
    const now = 1_000_000;
    const items = {
      mutexes: [{ name: 'm', holder: 'a/1', fence: 3, leaseUntil: now + 500 }],
      rwMutexes: [
        {
          name: 'rw',
          writer: null,
          fence: 2,
          writerUntil: null,
          readers: [
            { holder: 'r/1', leaseUntil: now + 900 },
            { holder: 'r/2', leaseUntil: now - 10 },
          ],
          writerWaiting: 'w/1',
        },
      ],
      semaphores: [
        {
          name: 'a-sem',
          capacity: 5,
          used: 4,
          holders: [
            { holder: 's/1', weight: 3, leaseUntil: now + 100 },
            { holder: 's/2', weight: 1, leaseUntil: now - 1 },
          ],
          waiter: null,
          waiterWeight: 0,
        },
      ],
    };
    // Act
    const rows = lockRows(items, now);
    // Assess
    expect(rows).toEqual([
      {
        name: 'a-sem',
        kind: 'semaphore',
        holder: null,
        fence: 0,
        leaseLeftMs: null,
        permits: {
          held: 3,
          capacity: 5,
          holders: [
            { holder: 's/1', weight: 3, leaseLeftMs: 100 },
            { holder: 's/2', weight: 1, leaseLeftMs: 0 },
          ],
        },
      },
      { name: 'm', kind: 'mutex', holder: 'a/1', fence: 3, leaseLeftMs: 500 },
      {
        name: 'rw',
        kind: 'rwmutex',
        holder: null,
        fence: 2,
        leaseLeftMs: null,
        readers: [
          { holder: 'r/1', leaseLeftMs: 900 },
          { holder: 'r/2', leaseLeftMs: 0 },
        ],
        writerWaiting: true,
      },
    ]);
  });
});

describe('meshFillItems', () => {
  it('makes exactly the items asked for, in the mix it reports, each read back as its kind', () => {
    // Act
    const { items, counts } = meshFillItems(10_000, 5_000_000);
    const read = meshItemsOf(items, UI_KINDS);
    // Assess
    expect(items).toHaveLength(10_000);
    expect(new Set(items.map((item) => `${item.pk!.S} ${item.sk!.S}`)).size).toBe(10_000);
    expect(
      counts.hop +
        counts.channel +
        counts.mutex +
        counts.rwMutex +
        counts.semaphore +
        counts.group +
        counts.groupTask +
        counts.waitGroup +
        counts.once,
    ).toBe(10_000);
    expect(counts.hop).toBe(8000);
    expect({
      channel: read.channels.length,
      mutex: read.mutexes.length,
      rwMutex: read.rwMutexes.length,
      semaphore: read.semaphores.length,
      group: read.groups.length,
      waitGroup: read.waitGroups.length,
      once: read.onceKeys.length,
    }).toEqual({
      channel: counts.channel,
      mutex: counts.mutex,
      rwMutex: counts.rwMutex,
      semaphore: counts.semaphore,
      group: counts.group,
      waitGroup: counts.waitGroup,
      once: counts.once,
    });
    expect(items.filter((item) => item.pk!.S!.startsWith('trace#')).length).toBe(counts.hop);
    expect(() => meshFillItems(99)).toThrow(RangeError);
  });
});
