/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup & Zadimoghaddam, "Consistent Hashing
 * with Bounded Loads", SODA 2018): each node has a capacity a little above the average load, and
 * a key whose node is full goes on clockwise to the first node that is not. Keys keep most of
 * consistent hashing's stickiness, and no node ever holds more than its capacity.
 *
 * The capacity, with m keys assigned, node weight w and total weight W (the paper's ⌈c·m/n⌉ with
 * c = 1 + ε, generalized to weights; with equal weights it is exactly the paper's):
 *
 *   cap(node) = ⌈(1 + ε) · m · w / W⌉      evaluated as Math.ceil((1 + ε) * m * w / W)
 *
 * `assign` counts the new key in m (m = assigned + 1, as the paper inserts a ball). `release`
 * lowers m, which may lower capacities; any node then over its capacity moves keys on clockwise,
 * as the paper does, and `release` returns those moves. Invariant after every call: every node's
 * load ≤ its capacity for the current m. (With `moveOnRelease: false`, releases move nothing and
 * the bound is the capacity for the largest m so far.)
 */
import { EmptyRingError, MeshConfigError } from '../errors.ts';
import { murmur3 } from './hash.ts';
import { pointAt, type RingSnapshot } from './points.ts';

/** Options of `HashRing.boundedAssigner()` and `HashRing.assignAll()`. */
export interface BoundedLoadOptions {
  /**
   * The balancing parameter ε > 0: no node holds more than ⌈(1 + ε) · m · w / W⌉ of the m keys
   * (⌈(1 + ε) · m / n⌉ with equal weights). Smaller ε balances tighter but moves more keys off
   * their ring position; the paper's analysis gives O(1/ε²) expected moves per update.
   */
  epsilon: number;
  /**
   * Whether `release` moves keys to keep every node within the capacity for the lower key count
   * (the paper's rule, and the strict guarantee). Turn it off when assigned keys cannot move, such
   * as requests in flight: a release then moves nothing, and a node's load stays within the
   * capacity at the moment it last received a key, so within the capacity of the largest key
   * count so far. @default true
   */
  moveOnRelease?: boolean;
}

/** A key that `release` moved from one node to another to keep every node within its capacity. */
export interface KeyMove {
  readonly key: string;
  readonly from: string;
  readonly to: string;
}

interface Placement {
  node: number;
  /** Index of the key in `keysOf[node]`. */
  slot: number;
}

/**
 * A stateful assigner of keys to nodes with bounded loads, over a snapshot of a `HashRing` (later
 * changes to the ring do not affect it). Get one from `ring.boundedAssigner({ epsilon })`.
 *
 * Costs: `assign` is a binary search plus a clockwise walk past full nodes; `release` is O(nodes)
 * plus the walks of the keys it moves. No I/O.
 */
export class BoundedAssigner {
  /** The balancing parameter ε. */
  readonly epsilon: number;
  /** Whether `release` moves keys to keep every node within its capacity. */
  readonly moveOnRelease: boolean;
  private readonly ring: RingSnapshot;
  private readonly totalWeight: number;
  private readonly load: Uint32Array;
  private readonly keysOf: string[][];
  private readonly placed = new Map<string, Placement>();

  /** @internal Use `HashRing.boundedAssigner()`. */
  constructor(ring: RingSnapshot, options: BoundedLoadOptions) {
    const { epsilon } = options;
    if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon <= 0) {
      throw new MeshConfigError(`bounded loads need an epsilon > 0, got ${epsilon}`);
    }
    if (ring.names.length === 0) throw new EmptyRingError('bounded loads need a ring with nodes');
    this.epsilon = epsilon;
    this.moveOnRelease = options.moveOnRelease ?? true;
    this.ring = ring;
    this.totalWeight = ring.weights.reduce((sum, weight) => sum + weight, 0);
    this.load = new Uint32Array(ring.names.length);
    this.keysOf = ring.names.map(() => []);
  }

  /** How many keys are assigned. */
  get size(): number {
    return this.placed.size;
  }

  /** The node `key` is assigned to, if it is. */
  nodeOf(key: string): string | undefined {
    const at = this.placed.get(key);
    return at === undefined ? undefined : this.ring.names[at.node];
  }

  /**
   * The capacity of `node` with the keys assigned now: ⌈(1 + ε) · m · w / W⌉.
   * @throws MeshConfigError if `node` is not in the assigner's ring.
   */
  capacity(node: string): number {
    const index = this.ring.names.indexOf(node);
    if (index < 0) throw new MeshConfigError(`node ${node} is not on the ring`);
    return this.cap(index, this.placed.size);
  }

  /**
   * Assigns `key` to the first node clockwise from its position whose load is below its capacity
   * counting this key (m = assigned + 1), and returns that node. A key already assigned stays
   * where it is.
   */
  assign(key: string): string {
    const at = this.placed.get(key);
    if (at !== undefined) return this.ring.names[at.node]!;
    const node = this.firstWithRoom(murmur3(key), this.placed.size + 1);
    this.put(key, node);
    return this.ring.names[node]!;
  }

  /**
   * Releases `key` (nothing happens if it is not assigned). If the lower key count lowers a
   * capacity below a node's load, that node's excess keys move on clockwise to the first node
   * with room: they are returned (usually none), and already applied. With `moveOnRelease: false`,
   * nothing moves and the result is always empty.
   */
  release(key: string): KeyMove[] {
    const at = this.placed.get(key);
    if (at === undefined) return [];
    this.take(key, at);
    if (!this.moveOnRelease) return [];
    const m = this.placed.size;
    const moves: KeyMove[] = [];
    const { names } = this.ring;
    for (let node = 0; node < names.length; node++) {
      const cap = this.cap(node, m);
      while (this.load[node]! > cap) {
        const keys = this.keysOf[node]!;
        const moved = keys[keys.length - 1]!;
        this.take(moved, this.placed.get(moved)!);
        // The node just left still has load ≥ cap, so the walk passes it.
        const to = this.firstWithRoom(murmur3(moved), m);
        this.put(moved, to);
        moves.push({ key: moved, from: names[node]!, to: names[to]! });
      }
    }
    return moves;
  }

  /** Each node's number of keys, in the ring's node order (nodes without keys included). */
  loads(): Map<string, number> {
    return new Map(this.ring.names.map((name, node) => [name, this.load[node]!]));
  }

  private cap(node: number, m: number): number {
    return Math.ceil(((1 + this.epsilon) * m * this.ring.weights[node]!) / this.totalWeight);
  }

  /** The first node clockwise from `hash` whose load is below its capacity for `m` keys. */
  private firstWithRoom(hash: number, m: number): number {
    const { positions, owners } = this.ring;
    const count = positions.length;
    let point = pointAt(positions, hash);
    for (let step = 0; step < count; step++) {
      const node = owners[point]!;
      if (this.load[node]! < this.cap(node, m)) return node;
      point = point + 1 === count ? 0 : point + 1;
    }
    // Unreachable: the capacities add up to at least (1 + ε) · m > the keys already placed.
    throw new Error(`bounded loads: no node below capacity for ${m} keys`);
  }

  private put(key: string, node: number): void {
    const keys = this.keysOf[node]!;
    this.placed.set(key, { node, slot: keys.length });
    keys.push(key);
    this.load[node] = this.load[node]! + 1;
  }

  private take(key: string, at: Placement): void {
    const keys = this.keysOf[at.node]!;
    const last = keys.pop()!;
    if (last !== key) {
      keys[at.slot] = last;
      this.placed.get(last)!.slot = at.slot;
    }
    this.placed.delete(key);
    this.load[at.node] = this.load[at.node]! - 1;
  }
}
