/**
 * The ring's internal layout, shared by `HashRing` and `BoundedAssigner`: the points (virtual
 * nodes) sorted by position, and the node that owns each. Not part of the public API.
 */

/** An immutable view of a ring: a change to the ring makes new arrays, it never edits these. */
export interface RingSnapshot {
  /** Point positions, ascending; equal positions ordered by owner name (code points), then vnode index. */
  readonly positions: Uint32Array;
  /** `owners[p]` is the index in `names` of the node that owns point `p`. */
  readonly owners: Uint32Array;
  /** Node names, in the order they joined the ring. */
  readonly names: readonly string[];
  /** Node weights, parallel to `names`. */
  readonly weights: readonly number[];
}

/**
 * The index of the first point whose position is ≥ `hash`, wrapping to 0 past the last point:
 * the point that owns `hash`. `positions` must not be empty.
 */
export function pointAt(positions: Uint32Array, hash: number): number {
  let lo = 0;
  let hi = positions.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (positions[mid]! < hash) lo = mid + 1;
    else hi = mid;
  }
  return lo === positions.length ? 0 : lo;
}

/** Maps a UTF-16 unit ≥ 0xD800 so that surrogates sort above U+E000–U+FFFF, as their code points do. */
function codePointRank(unit: number): number {
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/**
 * Compares two well-formed strings by Unicode code points — the same order as their UTF-8
 * bytes, and as Go's, Rust's or Python's string comparison. (JavaScript's `<` compares UTF-16
 * units, which differs for characters above U+FFFF against U+E000–U+FFFF.)
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x >= 0xd800 && y >= 0xd800 ? codePointRank(x) - codePointRank(y) : x - y;
  }
  return a.length - b.length;
}

/** Whether `s` has no lone surrogate (`String.prototype.isWellFormed`, which ES2023 lacks). */
export function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c > 0xdbff) return false;
    const low = s.charCodeAt(i + 1); // NaN past the end
    if (!(low >= 0xdc00 && low <= 0xdfff)) return false;
    i++;
  }
  return true;
}
