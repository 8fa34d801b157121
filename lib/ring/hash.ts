/**
 * Hash functions whose output other languages reproduce bit for bit, so that every process —
 * TypeScript, Go, Python, Java — places a key on the same shard.
 *
 * - `murmur3`: MurmurHash3 x86_32 (Austin Appleby, SMHasher) over the UTF-8 bytes of a string,
 *   as an unsigned 32-bit integer. Equal to Python's `mmh3.hash(s, seed, signed=False)`, Go's
 *   `murmur3.Sum32WithSeed([]byte(s), seed)` (spaolacci/murmur3), Guava's
 *   `Hashing.murmur3_32_fixed(seed).hashString(s, UTF_8)` read as unsigned.
 * - `jumpHash`: Lamping & Veach's jump consistent hash ("A Fast, Minimal Memory, Consistent Hash
 *   Algorithm", 2014) of a 64-bit key into numbered buckets; equal to the paper's C++ function,
 *   Go's `jump.Hash` (dgryski/go-jump) and Guava's `Hashing.consistentHash`.
 *
 * Both are pure, allocation-free and synchronous.
 */
import { MeshConfigError } from '../errors.ts';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** Mixes one little-endian 4-byte block into the running hash (the MurmurHash3 x86_32 body). */
function mixBlock(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Mixes the last 1–3 bytes (`k`, little-endian, 0 if none), the length, and finalizes (fmix32). */
function finish(h: number, k: number, length: number): number {
  if (k !== 0) {
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function checkSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new MeshConfigError(`a murmur3 seed is an integer in [0, 2^32), got ${seed}`);
}

/**
 * MurmurHash3 x86_32 of the UTF-8 encoding of `key`, as an unsigned 32-bit integer.
 *
 * The string is encoded on the fly (no buffer is allocated); ASCII runs are read four characters
 * per block. A lone surrogate is encoded as U+FFFD (EF BF BD), as `TextEncoder` does.
 *
 * @param seed an integer in [0, 2^32); 0 unless told otherwise.
 * @example murmur3('The quick brown fox jumps over the lazy dog') === 0x2e4ff723
 */
export function murmur3(key: string, seed = 0): number {
  if (seed !== 0) checkSeed(seed);
  const length = key.length;
  let h = seed | 0;
  let k = 0; // pending bytes, little-endian
  let bits = 0; // how many bits of k are filled: 0, 8, 16 or 24
  let bytes = 0; // UTF-8 length so far
  let i = 0;
  while (i < length) {
    if (bits === 0) {
      // Fast path: four ASCII characters make one block.
      while (i + 4 <= length) {
        const c0 = key.charCodeAt(i);
        const c1 = key.charCodeAt(i + 1);
        const c2 = key.charCodeAt(i + 2);
        const c3 = key.charCodeAt(i + 3);
        if ((c0 | c1 | c2 | c3) >= 0x80) break;
        h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
        i += 4;
        bytes += 4;
      }
      if (i >= length) break;
    }
    // One code point: up to four UTF-8 bytes packed little-endian into `enc`.
    let c = key.charCodeAt(i++);
    let enc: number;
    let n: number;
    if (c < 0x80) {
      enc = c;
      n = 1;
    } else if (c < 0x800) {
      enc = 0xc0 | (c >>> 6) | ((0x80 | (c & 0x3f)) << 8);
      n = 2;
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const low = i < length ? key.charCodeAt(i) : 0;
        if (c <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
          i++;
          c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        } else {
          c = 0xfffd; // lone surrogate
        }
      }
      if (c < 0x10000) {
        enc = 0xe0 | (c >>> 12) | ((0x80 | ((c >>> 6) & 0x3f)) << 8) | ((0x80 | (c & 0x3f)) << 16);
        n = 3;
      } else {
        enc = 0xf0 | (c >>> 18) | ((0x80 | ((c >>> 12) & 0x3f)) << 8) | ((0x80 | ((c >>> 6) & 0x3f)) << 16) | ((0x80 | (c & 0x3f)) << 24);
        n = 4;
      }
    }
    bytes += n;
    for (let j = 0; j < n; j++) {
      k |= (enc & 0xff) << bits;
      enc >>>= 8;
      bits += 8;
      if (bits === 32) {
        h = mixBlock(h, k);
        k = 0;
        bits = 0;
      }
    }
  }
  return finish(h, k, bytes);
}

/**
 * MurmurHash3 x86_32 of raw bytes, as an unsigned 32-bit integer (the reference algorithm, for
 * keys that are not strings). `murmur3(s) === murmur3Bytes(new TextEncoder().encode(s))`.
 *
 * @param seed an integer in [0, 2^32); 0 unless told otherwise.
 */
export function murmur3Bytes(bytes: Uint8Array, seed = 0): number {
  if (seed !== 0) checkSeed(seed);
  const length = bytes.length;
  const blocks = length & ~3;
  let h = seed | 0;
  for (let i = 0; i < blocks; i += 4) {
    h = mixBlock(h, bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
  }
  const rest = length & 3;
  let k = 0;
  if (rest === 3) k = bytes[blocks + 2]! << 16;
  if (rest >= 2) k |= bytes[blocks + 1]! << 8;
  if (rest >= 1) k |= bytes[blocks]!;
  return finish(h, k, length);
}

const TWO_POW_31 = 2147483648;
const TWO_POW_32 = 4294967296;
/** The jump hash LCG multiplier 2862933555777941757 = 0x27BB2EE6_87B0B0FD, in 16-bit limbs. */
const M_HI = 0x27bb2ee6;
const M_LO = 0x87b0b0fd;
const M_LO_0 = M_LO & 0xffff;
const M_LO_1 = M_LO >>> 16;
const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);

/**
 * Lamping & Veach's jump consistent hash: the bucket in [0, buckets) of a 64-bit key.
 *
 * When `buckets` grows from n to n + 1, a key either stays or moves to the new bucket n (about
 * 1/(n+1) of keys move); the spread over buckets is uniform; no memory, O(ln buckets) time.
 * Buckets are numbers, not names, and only the last one can be taken away — prefer `HashRing`
 * when shards have names or any of them may leave.
 *
 * The algorithm (64-bit unsigned arithmetic, modulo 2^64; doubles as in IEEE 754):
 *
 * ```
 * b = -1; j = 0
 * while j < buckets:
 *   b = j
 *   key = key * 2862933555777941757 + 1
 *   j = floor((b + 1) * (2^31 / ((key >> 33) + 1)))
 * return b
 * ```
 *
 * @param key an unsigned 64-bit key: a non-negative safe integer, or a bigint in [0, 2^64). A
 *   negative bigint down to -2^63 is read as its two's-complement uint64 (Java's `long`, Guava).
 *   For string keys, hash them first, e.g. `jumpHash(murmur3(key), n)`.
 * @param buckets an integer in [1, 2^31).
 * @throws MeshConfigError on a key or bucket count out of range.
 */
export function jumpHash(key: bigint | number, buckets: number): number {
  if (!Number.isInteger(buckets) || buckets < 1 || buckets >= TWO_POW_31) {
    throw new MeshConfigError(`jumpHash needs an integer bucket count in [1, 2^31), got ${buckets}`);
  }
  let hi: number;
  let lo: number;
  if (typeof key === 'number') {
    if (!Number.isSafeInteger(key) || key < 0)
      throw new MeshConfigError(`a jumpHash key is a non-negative safe integer or a bigint, got ${key}`);
    hi = Math.floor(key / TWO_POW_32);
    lo = key >>> 0;
  } else {
    if (key > UINT64_MAX || key < INT64_MIN) throw new MeshConfigError(`a jumpHash key is a 64-bit integer, got ${key}`);
    const unsigned = BigInt.asUintN(64, key);
    hi = Number(unsigned >> 32n);
    lo = Number(unsigned & 0xffffffffn);
  }
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    // (hi:lo) = (hi:lo) * M + 1  (mod 2^64). lo * M_LO needs its full 64 bits: 16-bit limbs.
    const lo0 = lo & 0xffff;
    const lo1 = lo >>> 16;
    const p01 = lo0 * M_LO_1;
    const p10 = lo1 * M_LO_0;
    const low = lo0 * M_LO_0 + ((p01 & 0xffff) + (p10 & 0xffff)) * 0x10000; // < 3·2^32, exact
    const carry = Math.floor(low / TWO_POW_32);
    const high = lo1 * M_LO_1 + (p01 >>> 16) + (p10 >>> 16) + carry; // < 2^33, exact
    hi = (high + Math.imul(hi, M_LO) + Math.imul(lo, M_HI)) >>> 0;
    lo = low >>> 0;
    lo = (lo + 1) >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
    j = Math.floor((b + 1) * (TWO_POW_31 / ((hi >>> 1) + 1)));
  }
  return b;
}
