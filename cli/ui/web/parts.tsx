/** Small pieces every view uses: formatting, the clock, sections, in-page links, progress bars. */
import { type ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/** The wall clock, re-read every `everyMs` (for countdowns). */
export function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

export function ms(value: number): string {
  return value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(value < 10_000 ? 2 : 1)} s`;
}

export function time(epochMs: number): string {
  return new Date(epochMs).toLocaleTimeString();
}

export function Section(props: { id: string; title: string; count: number; children: ComponentChildren }) {
  return (
    <section aria-labelledby={`${props.id}-title`} id={props.id}>
      <h2 id={`${props.id}-title`} tabIndex={-1}>
        {props.title} <span class="count">{props.count}</span>
      </h2>
      {props.children}
    </section>
  );
}

/**
 * A link to a part of the page that keeps the fragment (it holds the session token): it scrolls
 * there and moves the keyboard focus to its heading instead of following `#id`.
 */
export function Jump(props: { to: string; children: ComponentChildren; class?: string }) {
  const go = (event: MouseEvent) => {
    event.preventDefault();
    const target = document.getElementById(props.to);
    target?.scrollIntoView({ block: 'start' });
    (target?.querySelector<HTMLElement>('h2') ?? target)?.focus();
  };
  return (
    <a href={`#${props.to}`} onClick={go} {...(props.class ? { class: props.class } : {})}>
      {props.children}
    </a>
  );
}

export function Empty(props: { what: string }) {
  return <p class="empty">No {props.what} yet.</p>;
}

export function Progress(props: { label: string; done: number; total: number }) {
  const total = Math.max(props.total, props.done, 1);
  return (
    <progress max={total} value={props.done} aria-label={props.label}>
      {props.done}/{total}
    </progress>
  );
}
