/**
 * The `jobs` channel: what goes on it (a `Job`), and the Channel both ends use. `submit` sends on
 * it; SQS triggers `worker` with its messages.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { Channel, type Schema } from 'fnmesh';
import { dynamodb, requireEnv, tableName } from './env.ts';

export interface Job {
  /** Names the job; its result is the item `job#<id>` / `result` of the mesh table. */
  id: string;
  text: string;
}

/**
 * Checks that a value is a Job. A channel's `schema` is any Standard Schema (zod, valibot,
 * ArkType, ...); this one is written out by hand so that the starter needs no schema library.
 */
export const jobSchema: Schema<Job> = {
  '~standard': {
    version: 1,
    vendor: 'starter',
    validate(value) {
      const job = value as Partial<Job> | null;
      if (typeof job?.id === 'string' && job.id.length > 0 && job.id.length <= 200 && typeof job.text === 'string')
        return { value: { id: job.id, text: job.text } };
      return { issues: [{ message: 'a job is { "id": string of 1-200 characters, "text": string }' }] };
    },
  },
};

export const jobs = new Channel<Job>({
  sqs: new SQSClient({}),
  dynamodb,
  tableName,
  name: 'jobs',
  queueUrl: requireEnv('JOBS_QUEUE_URL'),
  schema: jobSchema,
  // How long the worker's hold on a job lasts: the queue's visibility timeout (serverless.yml).
  visibilityTimeoutSeconds: Number(requireEnv('JOBS_VISIBILITY_SECONDS')),
});

/** The key of a job's result item. */
export const resultKey = (id: string) => ({ pk: { S: `job#${id}` }, sk: { S: 'result' } });
