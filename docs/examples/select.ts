// Wait for whichever comes first: a result, a cancellation, or a timeout.
import { type Channel, recv, select } from 'fnmesh';

export async function firstOf(results: Channel<{ square: number }>, cancel: Channel<string>): Promise<string> {
  const chosen = await select([recv(results), recv(cancel)], { timeoutMs: 5_000 });
  if (chosen.kind !== 'receive') return 'timed out';
  if (!chosen.ok) return 'a channel was closed';
  return chosen.index === 0 ? `result ${JSON.stringify(chosen.value)}` : `cancelled: ${JSON.stringify(chosen.value)}`;
}
