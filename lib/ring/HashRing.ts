/**
 * A consistent hash ring: the same key maps to the same node in every process and language, and
 * adding or removing a node moves only the keys that must move. Algorithm, test vectors and
 * costs: docs/primitives/hashring.md.
 *
 *   point (virtual node) i of node N   at murmur3(`${N}#${i}`), i = 0 … round(weight · virtualNodes) − 1
 *   key K                              at murmur3(K)
 *   owner of K                         the first point clockwise at a position ≥ murmur3(K), wrapping
 *                                      past 2^32 − 1 to the lowest point
 *   points at the same position        ordered by node name (Unicode code points), then i: the
 *                                      smallest name wins a tie
 *
 * murmur3 is MurmurHash3 x86_32, seed 0, over UTF-8 (./hash.ts). Pure TypeScript, no I/O.
 */
import { EmptyRingError, MeshConfigError } from '../errors.ts';
import { BoundedAssigner, type BoundedLoadOptions } from './boundedLoad.ts';
import { murmur3 } from './hash.ts';
import { compareCodePoints, isWellFormed, pointAt, type RingSnapshot } from './points.ts';

/** Virtual nodes per unit of weight unless told otherwise (Ketama's 160). */
export const DEFAULT_VIRTUAL_NODES = 160;

/** At most this many points per node: a guard against a mistyped weight eating the memory. */
const MAX_POINTS_PER_NODE = 1 << 24;

/** A node and its weight: a node of weight 2 gets twice the points, so about twice the keys. */
export interface RingNode {
  /** A non-empty string without lone surrogates, unique on the ring. */
  name: string;
  /** A positive number. @default 1 */
  weight?: number;
}

/** Options of `new HashRing()`. */
export interface HashRingOptions {
  /** The nodes to start with: names (weight 1) or `{ name, weight }`. Their order does not matter. */
  nodes?: readonly (string | RingNode)[];
  /**
   * Points (virtual nodes) per unit of weight: a node of weight w has round(w · virtualNodes)
   * points. More points balance better and cost memory and build time. @default 160
   */
  virtualNodes?: number;
}

/**
 * A consistent hash ring of named nodes (shards, workers, partitions) with weights and virtual
 * nodes. Lookups are O(log points) and allocate nothing; `add` is O(points), `remove` O(points).
 * Placement depends only on the set of nodes and their weights, never on the order they joined.
 *
 * @example
 * const ring = new HashRing({ nodes: ['shard-a', 'shard-b', 'shard-c'] });
 * ring.get('user-42'); // the same shard in every process, as long as the nodes are the same
 */
export class HashRing {
  /** Points per unit of weight. */
  readonly virtualNodes: number;
  private readonly names: string[] = [];
  private readonly weights: number[] = [];
  /** Per node, the position of its point i at index i. */
  private readonly points: Uint32Array[] = [];
  private readonly index = new Map<string, number>();
  // Replaced, never edited in place, so a BoundedAssigner can keep a snapshot.
  private positions: Uint32Array = new Uint32Array(0);
  private owners: Uint32Array = new Uint32Array(0);
  // For getN: seen[node] === generation marks a node already returned, without allocating.
  private seen: Uint32Array = new Uint32Array(0);
  private generation = 0;

  /** @throws MeshConfigError on a virtualNodes that is not a positive integer, or a node refused by `add`. */
  constructor(options: HashRingOptions = {}) {
    const virtualNodes = options.virtualNodes ?? DEFAULT_VIRTUAL_NODES;
    if (!Number.isSafeInteger(virtualNodes) || virtualNodes < 1) {
      throw new MeshConfigError(`virtualNodes is a positive integer, got ${virtualNodes}`);
    }
    this.virtualNodes = virtualNodes;
    for (const node of options.nodes ?? []) {
      if (typeof node === 'string') this.join(node, 1);
      else this.join(node.name, node.weight ?? 1);
    }
    this.build();
  }

  /** The nodes, in the order they joined. */
  get nodes(): string[] {
    return this.names.slice();
  }

  /** How many nodes. */
  get size(): number {
    return this.names.length;
  }

  /** Whether `node` is on the ring. */
  has(node: string): boolean {
    return this.index.has(node);
  }

  /**
   * Adds a node with round(weight · virtualNodes) points. Only keys that now map to one of its
   * points move, all of them to it.
   * @param weight a positive number. @default 1
   * @throws MeshConfigError on an empty or ill-formed name, a name already on the ring, or a weight ≤ 0.
   */
  add(node: string, weight = 1): void {
    this.join(node, weight);
    this.merge(this.names.length - 1);
  }

  /**
   * Removes a node: only its keys move, each to the next node clockwise. Returns whether it was
   * on the ring.
   */
  remove(node: string): boolean {
    const gone = this.index.get(node);
    if (gone === undefined) return false;
    const positions = new Uint32Array(this.positions.length - this.points[gone]!.length);
    const owners = new Uint32Array(positions.length);
    let kept = 0;
    for (let point = 0; point < this.positions.length; point++) {
      const owner = this.owners[point]!;
      if (owner === gone) continue;
      positions[kept] = this.positions[point]!;
      owners[kept] = owner > gone ? owner - 1 : owner;
      kept++;
    }
    this.names.splice(gone, 1);
    this.weights.splice(gone, 1);
    this.points.splice(gone, 1);
    this.index.clear();
    this.names.forEach((name, i) => this.index.set(name, i));
    this.install(positions, owners);
    return true;
  }

  /**
   * The node `key` belongs to: the owner of the first point clockwise at or after murmur3(key).
   * @throws EmptyRingError if the ring has no nodes.
   */
  get(key: string): string {
    const positions = this.positions;
    if (positions.length === 0) throw new EmptyRingError('the hash ring has no nodes');
    return this.names[this.owners[pointAt(positions, murmur3(key))]!]!;
  }

  /**
   * `n` distinct nodes for `key` (replicas): the owners of the points clockwise from the key,
   * skipping nodes already taken. The first is `get(key)`. Fewer than `n` if the ring has fewer nodes.
   * @throws EmptyRingError if the ring has no nodes; MeshConfigError if `n` is not a non-negative integer.
   */
  getN(key: string, n: number): string[] {
    if (!Number.isSafeInteger(n) || n < 0) throw new MeshConfigError(`getN needs a non-negative integer count, got ${n}`);
    const { positions, owners, names, seen } = this;
    const count = positions.length;
    if (count === 0) throw new EmptyRingError('the hash ring has no nodes');
    const wanted = Math.min(n, names.length);
    const result: string[] = [];
    if (wanted === 0) return result;
    if (++this.generation > 0xffffffff) {
      seen.fill(0);
      this.generation = 1;
    }
    const generation = this.generation;
    let point = pointAt(positions, murmur3(key));
    while (result.length < wanted) {
      const owner = owners[point]!;
      if (seen[owner] !== generation) {
        seen[owner] = generation;
        result.push(names[owner]!);
      }
      point = point + 1 === count ? 0 : point + 1;
    }
    return result;
  }

  /**
   * A stateful assigner with bounded loads over the ring as it is now (Mirrokni, Thorup &
   * Zadimoghaddam): no node ever holds more than ⌈(1 + ε) · m · w / W⌉ of the m keys assigned.
   * @throws EmptyRingError if the ring has no nodes; MeshConfigError if epsilon is not > 0.
   */
  boundedAssigner(options: BoundedLoadOptions): BoundedAssigner {
    if (this.names.length === 0) throw new EmptyRingError('bounded loads need a ring with nodes');
    return new BoundedAssigner(this.snapshot(), options);
  }

  /**
   * Assigns a whole set of keys with bounded loads: key → node, no node above
   * ⌈(1 + ε) · m · w / W⌉ for the m distinct keys. Keys are placed in ascending order of
   * (murmur3(key), key by code points), so the result depends only on the set of keys and the
   * ring, not on the order given: every process computes the same assignment.
   * @throws EmptyRingError if the ring has no nodes; MeshConfigError if epsilon is not > 0.
   */
  assignAll(keys: Iterable<string>, epsilon: number): Map<string, string> {
    const assigner = this.boundedAssigner({ epsilon });
    const unique = [...new Set(keys)];
    const hashed = unique.map((key) => ({ key, hash: murmur3(key) }));
    hashed.sort((a, b) => a.hash - b.hash || compareCodePoints(a.key, b.key));
    for (const { key } of hashed) assigner.assign(key);
    return new Map(unique.map((key) => [key, assigner.nodeOf(key)!]));
  }

  /** Validates a node and appends it (names, weights, its points); the layout is built by the caller. */
  private join(name: string, weight: number): void {
    if (typeof name !== 'string' || name.length === 0) throw new MeshConfigError('a ring node needs a non-empty name');
    if (!isWellFormed(name)) throw new MeshConfigError(`ring node name ${JSON.stringify(name)} has a lone surrogate`);
    if (this.index.has(name)) throw new MeshConfigError(`node ${name} is already on the ring`);
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
      throw new MeshConfigError(`node ${name}: a weight is a positive number, got ${weight}`);
    }
    const count = Math.round(weight * this.virtualNodes);
    if (count < 1) throw new MeshConfigError(`node ${name}: weight ${weight} gives no point at ${this.virtualNodes} virtual nodes`);
    if (count > MAX_POINTS_PER_NODE)
      throw new MeshConfigError(`node ${name}: weight ${weight} gives ${count} points, over ${MAX_POINTS_PER_NODE}`);
    const points = new Uint32Array(count);
    for (let i = 0; i < count; i++) points[i] = murmur3(`${name}#${i}`);
    this.index.set(name, this.names.length);
    this.names.push(name);
    this.weights.push(weight);
    this.points.push(points);
  }

  /** Lays out every node's points from scratch: one sort. */
  private build(): void {
    const byName = this.names.map((_, node) => node).sort((a, b) => compareCodePoints(this.names[a]!, this.names[b]!));
    const total = this.points.reduce((sum, points) => sum + points.length, 0);
    // Ids follow (name, i), so sorting by (position, id) sorts by (position, name, i).
    const position = new Uint32Array(total);
    const owner = new Uint32Array(total);
    let id = 0;
    for (const node of byName) {
      for (const at of this.points[node]!) {
        position[id] = at;
        owner[id] = node;
        id++;
      }
    }
    const ids = new Uint32Array(total).map((_, i) => i);
    ids.sort((a, b) => position[a]! - position[b]! || a - b);
    const positions = new Uint32Array(total);
    const owners = new Uint32Array(total);
    for (let k = 0; k < total; k++) {
      positions[k] = position[ids[k]!]!;
      owners[k] = owner[ids[k]!]!;
    }
    this.install(positions, owners);
  }

  /** Merges the points of the node just joined into the layout: O(points). */
  private merge(node: number): void {
    const name = this.names[node]!;
    const mine = this.points[node]!;
    const order = new Uint32Array(mine.length).map((_, i) => i);
    order.sort((a, b) => mine[a]! - mine[b]! || a - b);
    const { positions: oldPositions, owners: oldOwners } = this;
    const total = oldPositions.length + mine.length;
    const positions = new Uint32Array(total);
    const owners = new Uint32Array(total);
    let i = 0;
    let j = 0;
    for (let k = 0; k < total; k++) {
      let takeMine = i === oldPositions.length;
      if (!takeMine && j < mine.length) {
        const at = mine[order[j]!]!;
        const there = oldPositions[i]!;
        takeMine = at < there || (at === there && compareCodePoints(name, this.names[oldOwners[i]!]!) < 0);
      }
      if (takeMine) {
        positions[k] = mine[order[j++]!]!;
        owners[k] = node;
      } else {
        positions[k] = oldPositions[i]!;
        owners[k] = oldOwners[i++]!;
      }
    }
    this.install(positions, owners);
  }

  private install(positions: Uint32Array, owners: Uint32Array): void {
    this.positions = positions;
    this.owners = owners;
    this.seen = new Uint32Array(this.names.length);
    this.generation = 0;
  }

  private snapshot(): RingSnapshot {
    return { positions: this.positions, owners: this.owners, names: this.names.slice(), weights: this.weights.slice() };
  }
}
