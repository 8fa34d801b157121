/**
 * The writes an RWMutex acquirer makes to its item (format in RWMutex.ts and
 * docs/primitives/rwmutex.md), as Updates for its HolderItem: the readers' and the writer's fast
 * paths, the full writes that clear expired readers (conditioned on `version`), and a waiting
 * writer's intent. Pure: no I/O.
 */
import { FORMAT_VERSION, n, s } from '../table/layout.ts';
import { type Update, versionCondition } from './holderItem.ts';
import { type Clock, liveEntries, type RwState } from './holders.ts';

/** The item's attributes, by placeholder. */
export const RW_NAMES = {
  '#readers': 'readers',
  '#writer': 'writer',
  '#writerUntil': 'writerUntil',
  '#writerWaiting': 'writerWaiting',
  '#writerWaitingUntil': 'writerWaitingUntil',
  '#fence': 'fence',
  '#version': 'version',
  '#releasedBy': 'releasedBy',
  '#v': 'v',
};

const NO_WRITER = '(attribute_not_exists(#writer) OR #writerUntil < :expiredBefore)';

/** A reader joins: adds its entry, if the readers map exists and no live writer or writer intent is in the way. */
export function readFastPath(token: string, until: number, clock: Clock): Update {
  return {
    update: 'SET #readers.#token = :until, #v = :v REMOVE #writer, #writerUntil, #writerWaiting, #writerWaitingUntil ADD #version :one',
    condition: `attribute_exists(#readers) AND ${NO_WRITER} AND (attribute_not_exists(#writerWaiting) OR #writerWaitingUntil < :expiredBefore)`,
    names: { '#token': token },
    values: { ':until': n(until), ':v': n(FORMAT_VERSION), ':one': n(1), ':expiredBefore': n(clock.expiredBefore) },
  };
}

/** The reader's write on a new item (or one without a readers map): the live readers, plus this one. */
export function readFullWrite(state: RwState, token: string, until: number, clock: Clock): Update {
  const readers = liveEntries(state.readers, clock.expiredBefore);
  readers.set(token, until);
  const { condition, values } = versionCondition(state.version);
  return {
    update: 'SET #readers = :readers, #v = :v REMOVE #writer, #writerUntil, #writerWaiting, #writerWaitingUntil ADD #version :one',
    condition,
    values: {
      ...values,
      ':readers': { M: Object.fromEntries([...readers].map(([reader, end]) => [reader, n(end)])) },
      ':v': n(FORMAT_VERSION),
      ':one': n(1),
    },
  };
}

const TAKE_WRITE =
  'SET #writer = :token, #writerUntil = :until, #readers = :empty, #v = :v REMOVE #writerWaiting, #writerWaitingUntil ADD #fence :one, #version :one';

/** A writer takes the lock: if no live writer, no reader, and no other live intent. */
export function writeFastPath(token: string, until: number, clock: Clock): Update {
  return {
    update: TAKE_WRITE,
    condition: `${NO_WRITER} AND (attribute_not_exists(#readers) OR size(#readers) = :zero) AND (attribute_not_exists(#writerWaiting) OR #writerWaiting = :token OR #writerWaitingUntil < :expiredBefore)`,
    values: {
      ':token': s(token),
      ':until': n(until),
      ':empty': { M: {} },
      ':v': n(FORMAT_VERSION),
      ':one': n(1),
      ':zero': n(0),
      ':expiredBefore': n(clock.expiredBefore),
    },
    returnNew: true,
  };
}

/** The writer's take when only expired readers remain: clears them, if nothing changed since the read. */
export function writeFullWrite(state: RwState, token: string, until: number): Update {
  const { condition, values } = versionCondition(state.version);
  return {
    update: TAKE_WRITE,
    condition,
    values: { ...values, ':token': s(token), ':until': n(until), ':empty': { M: {} }, ':v': n(FORMAT_VERSION), ':one': n(1) },
    returnNew: true,
  };
}

/** A waiting writer records (or renews) its intent: no new readers while it is live. */
export function intentWrite(token: string, until: number, clock: Clock): Update {
  return {
    update: 'SET #writerWaiting = :token, #writerWaitingUntil = :until, #v = :v ADD #version :one',
    condition: `${NO_WRITER} AND (attribute_not_exists(#writerWaiting) OR #writerWaiting = :token OR #writerWaitingUntil < :expiredBefore)`,
    values: { ':token': s(token), ':until': n(until), ':v': n(FORMAT_VERSION), ':one': n(1), ':expiredBefore': n(clock.expiredBefore) },
  };
}
