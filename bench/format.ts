/**
 * How the benchmark report writes numbers, times and tables. Locale-independent, so the page and
 * its charts are the same wherever they are rendered.
 */
import type { Stat } from './results.ts';

/** An integer with thousands separators: `12,345`. */
export function group(integer: number): string {
  const sign = integer < 0 ? '-' : '';
  return sign + String(Math.abs(integer)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Whole numbers from 100 up, three significant digits below. */
export function num(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return group(Math.round(value));
  if (value === 0) return '0';
  return String(Number(value.toPrecision(3)));
}

/** `median [min–max]`. */
export function statText(value: Stat): string {
  return `${num(value.median)} [${num(value.min)}–${num(value.max)}]`;
}

/** `1 h 2 min 3 s`, `2 min 3 s` or `3 s`. */
export function duration(seconds: number): string {
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h} h ${m} min ${s} s`;
  if (m > 0) return `${m} min ${s} s`;
  return `${s} s`;
}

/** `2025-11-26 07:30 UTC`, or the text as given if it is not a time. */
export function startedAtText(iso: string): string {
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return iso;
  return `${time.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A Markdown table, `|` in cells escaped. */
export function table(header: string[], rows: string[][]): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  const lines = [header, header.map(() => '---'), ...rows].map((row) => `| ${row.map(escape).join(' | ')} |`);
  return lines.join('\n');
}
