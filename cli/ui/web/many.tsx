/**
 * Long lists on the page (hundreds of channels, locks, groups on a busy table): the first
 * {@link SHOWN} rows, a filter by name, and a button to show them all. Plain form controls, so
 * they work by keyboard (Tab to the filter, type; Tab to the button, Enter) and read well in a
 * screen reader (the count of rows shown is in a live region).
 */
import { useState } from 'preact/hooks';

/** Rows shown before "show all". */
export const SHOWN = 50;

/**
 * The rows to render of `rows` (filtered by `nameOf` containing the filter, case-insensitive, and
 * capped at {@link SHOWN} unless all are asked for), and the controls to put above the table
 * (nothing while the list is short and unfiltered).
 */
export function useMany<T>(rows: readonly T[], nameOf: (row: T) => string, what: string) {
  const [filter, setFilter] = useState('');
  const [all, setAll] = useState(false);
  const needle = filter.trim().toLowerCase();
  const matching = needle ? rows.filter((row) => nameOf(row).toLowerCase().includes(needle)) : rows;
  const shown = all ? matching : matching.slice(0, SHOWN);
  const controls =
    rows.length > SHOWN || needle ? (
      <div class="many" data-many={what}>
        <label>
          Filter {what} <input type="search" value={filter} onInput={(event) => setFilter((event.target as HTMLInputElement).value)} />
        </label>
        <span role="status" aria-live="polite" data-field="shown">
          {shown.length} of {matching.length}
          {needle ? ` matching (${rows.length} in all)` : ''}
        </span>
        {matching.length > SHOWN && (
          <button type="button" onClick={() => setAll(!all)} aria-pressed={all}>
            {all ? `Show the first ${SHOWN}` : `Show all ${matching.length}`}
          </button>
        )}
      </div>
    ) : null;
  return { shown, controls };
}
