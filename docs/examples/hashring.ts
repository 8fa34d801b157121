// Route each customer to one shard worker, the same one in every process and language.
import { HashRing } from 'fnmesh';

const ring = new HashRing({ nodes: ['worker-a', 'worker-b', { name: 'worker-c', weight: 2 }] });

export function shardOf(customerId: string): string {
  return ring.get(customerId);
}

// Three copies of a customer's data, on three different workers.
export function replicasOf(customerId: string): string[] {
  return ring.getN(customerId, 3);
}

// A batch of jobs, no worker more than 25% over its share; the same plan in every process.
export function planBatch(jobIds: string[]): Map<string, string> {
  return ring.assignAll(jobIds, 0.25);
}

// Requests in flight: each takes a slot on arrival and gives it back when done. They cannot
// move mid-flight, so a release moves nothing (loads stay under the cap of the busiest moment).
const inFlight = ring.boundedAssigner({ epsilon: 0.25, moveOnRelease: false });

export async function handle(requestId: string, run: (worker: string) => Promise<void>): Promise<void> {
  const worker = inFlight.assign(requestId);
  try {
    await run(worker);
  } finally {
    inFlight.release(requestId);
  }
}
