/**
 * submit: sends jobs on the `jobs` channel (Go: `jobs <- job` for each). The channel counts each
 * value in exactly once in its ledger on the mesh table, so `worker` can tell a redelivered copy
 * (SQS delivers at least once) from a new job.
 *
 *   in   { "jobs": [{ "id": "a", "text": "hello world" }, ...] }
 *   out  { "sent": ["<envelope id>", ...] }
 */
import { check, describeIssues, InvalidInputError } from 'fnmesh';
import { type Job, jobSchema, jobs } from '../shared/jobs.ts';

export async function handler(event: { jobs?: unknown }) {
  if (!Array.isArray(event?.jobs) || event.jobs.length === 0 || event.jobs.length > 100)
    throw new InvalidInputError('event.jobs', 'expected an array of 1-100 jobs');
  const values: Job[] = [];
  for (const [index, value] of event.jobs.entries()) {
    const parsed = await check(jobSchema, value);
    if (!parsed.ok) throw new InvalidInputError(`event.jobs.${index}`, describeIssues(parsed.issues));
    values.push(parsed.value);
  }
  const envelopes = await jobs.sendMany(values);
  return { sent: envelopes.map((envelope) => envelope.id) };
}
