/**
 * The Topology view's reads: the deployed stack's template (CloudFormation GetTemplate of
 * `<service>-<stage>`, its `Processed` stage, else `Original`; ListStackResources for the names
 * the template leaves to CloudFormation), turned into a graph by topology.ts; then, on every read,
 * the live counts: each queue's SQS attributes (queued, in flight; a queue's dead letters are its
 * dead-letter queue's messages) and each function's invocations and errors over the last 15
 * minutes from CloudWatch (AWS/Lambda `Invocations` and `Errors` by `FunctionName`, Sum; one
 * GetMetricData call for all functions).
 *
 * The same on AWS and on LocalStack: LocalStack's Lambda (also in host mode, with fnmesh's process
 * executor) publishes AWS/Lambda `Invocations` and `Errors` per function for synchronous,
 * asynchronous and SQS-triggered invocations, checked against a deployed stack (test/integration/
 * uiTopology.test.ts watches a count rise). Its datapoints' timestamps are bucketed loosely, so the
 * counts are the sum of every datapoint in the window, not one period's value.
 *
 * Costs on AWS: GetMetricData is billed per metric read, so the counts are re-read at most once a
 * minute there (AWS/Lambda's resolution is a minute anyway); locally on every read. The template
 * is re-read every 30 s (a redeploy shows up); the queues' attributes on every read.
 *
 * The CloudFormation and CloudWatch clients are loaded when first needed: they are devDependencies
 * of fnmesh, so an installed fnmesh whose project lacks them still runs every other command.
 */
import { GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { MeshConfigError } from '../../lib/errors.ts';
import { localClientConfig } from '../../infra/localstack/clients.ts';
import { SERVICE } from '../../infra/stack.ts';
import type { MeshContext } from '../context.ts';
import { buildTopology, type TopologyGraph } from './topology.ts';
import type { ApiTopology, ApiTopologyFunction, ApiTopologyQueue } from './web/types.ts';

export interface TopologyReaderOptions {
  /** @default `<service>-<stage>` */
  stackName?: string;
  /** @default 15 */
  windowMinutes?: number;
  /** How long a read template is reused (ms). @default 30_000 */
  templateEveryMs?: number;
  /** How long the functions' counts are reused (ms). @default 0 on stage local, 60_000 elsewhere */
  metricsEveryMs?: number;
  region?: string;
}

export interface TopologyReader {
  read(options: { signal?: AbortSignal }): Promise<ApiTopology>;
  /** Destroys the clients this reader made. */
  close(): void;
}

interface Clients {
  cloudformation: CloudFormationClient;
  cloudwatch: CloudWatchClient;
  sdk: {
    cf: typeof import('@aws-sdk/client-cloudformation');
    cw: typeof import('@aws-sdk/client-cloudwatch');
  };
}

async function loadClients(stage: string, region: string): Promise<Clients> {
  let cf: typeof import('@aws-sdk/client-cloudformation');
  let cw: typeof import('@aws-sdk/client-cloudwatch');
  try {
    [cf, cw] = await Promise.all([import('@aws-sdk/client-cloudformation'), import('@aws-sdk/client-cloudwatch')]);
  } catch (err) {
    throw new MeshConfigError(
      'the Topology view needs @aws-sdk/client-cloudformation and @aws-sdk/client-cloudwatch: npm install --save-dev both',
      { cause: err },
    );
  }
  const config = stage === 'local' ? localClientConfig({ region }) : { region };
  return { cloudformation: new cf.CloudFormationClient(config), cloudwatch: new cw.CloudWatchClient(config), sdk: { cf, cw } };
}

/** The sum of every datapoint of each query, by query id (GetMetricData, all pages). */
async function metricSums(
  clients: Clients,
  queries: import('@aws-sdk/client-cloudwatch').MetricDataQuery[],
  start: Date,
  end: Date,
  signal: AbortSignal | undefined,
): Promise<Map<string, number>> {
  const sums = new Map<string, number>();
  let NextToken: string | undefined;
  do {
    const page = await clients.cloudwatch.send(
      new clients.sdk.cw.GetMetricDataCommand({ MetricDataQueries: queries, StartTime: start, EndTime: end, NextToken }),
      signal ? { abortSignal: signal } : {},
    );
    for (const result of page.MetricDataResults ?? [])
      sums.set(result.Id!, (sums.get(result.Id!) ?? 0) + (result.Values ?? []).reduce((a, b) => a + b, 0));
    NextToken = page.NextToken;
  } while (NextToken);
  return sums;
}

/** GetMetricData takes at most 500 queries: two per function. */
const FUNCTIONS_PER_CALL = 250;

export function topologyReader(ctx: MeshContext, options: TopologyReaderOptions = {}): TopologyReader {
  const stackName = options.stackName ?? `${SERVICE}-${ctx.stage}`;
  const windowMinutes = options.windowMinutes ?? 15;
  const templateEveryMs = options.templateEveryMs ?? 30_000;
  const metricsEveryMs = options.metricsEveryMs ?? (ctx.stage === 'local' ? 0 : 60_000);
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  let clients: Promise<Clients> | undefined;
  const getClients = () => (clients ??= loadClients(ctx.stage, region));
  let template: { graph: TopologyGraph; templateStage: ApiTopology['templateStage']; readAt: number } | undefined;
  let metrics: { counts: Map<string, { invocations: number; errors: number }>; readAt: number } | undefined;

  const readGraph = async (signal: AbortSignal | undefined) => {
    if (template && Date.now() - template.readAt < templateEveryMs) return template;
    const { cloudformation, sdk } = await getClients();
    const abort = signal ? { abortSignal: signal } : {};
    const readAt = Date.now();
    let body: string | undefined;
    let templateStage: ApiTopology['templateStage'] = 'Processed';
    try {
      try {
        ({ TemplateBody: body } = await cloudformation.send(
          new sdk.cf.GetTemplateCommand({ StackName: stackName, TemplateStage: 'Processed' }),
          abort,
        ));
      } catch (err) {
        if ((err as Error).name === 'ValidationError' && /does not exist/i.test((err as Error).message)) throw err;
        templateStage = 'Original';
        ({ TemplateBody: body } = await cloudformation.send(
          new sdk.cf.GetTemplateCommand({ StackName: stackName, TemplateStage: 'Original' }),
          abort,
        ));
      }
    } catch (err) {
      if ((err as Error).name === 'ValidationError')
        throw new MeshConfigError(`stack ${stackName} cannot be read: ${(err as Error).message} (is stage ${ctx.stage} deployed?)`, {
          cause: err,
        });
      throw err;
    }
    if (!body) throw new MeshConfigError(`stack ${stackName} has no template`);
    const physicalIds = new Map<string, string>();
    let NextToken: string | undefined;
    do {
      const page = await cloudformation.send(new sdk.cf.ListStackResourcesCommand({ StackName: stackName, NextToken }), abort);
      for (const summary of page.StackResourceSummaries ?? [])
        if (summary.LogicalResourceId && summary.PhysicalResourceId) physicalIds.set(summary.LogicalResourceId, summary.PhysicalResourceId);
      NextToken = page.NextToken;
    } while (NextToken);
    const graph = buildTopology(body, { physicalIds, labelPrefix: `${stackName}-` });
    template = { graph, templateStage, readAt };
    return template;
  };

  const readMetrics = async (functions: ApiTopologyFunction[], signal: AbortSignal | undefined) => {
    if (metrics && Date.now() - metrics.readAt < metricsEveryMs) return metrics;
    const readAt = Date.now();
    const counts = new Map<string, { invocations: number; errors: number }>();
    const clientsNow = await getClients();
    const start = new Date(Math.floor((readAt - windowMinutes * 60_000) / 60_000) * 60_000);
    const end = new Date(Math.ceil((readAt + 1) / 60_000) * 60_000);
    for (let first = 0; first < functions.length; first += FUNCTIONS_PER_CALL) {
      const batch = functions.slice(first, first + FUNCTIONS_PER_CALL);
      const queries = batch.flatMap((fn, index) =>
        (['Invocations', 'Errors'] as const).map((metric) => ({
          Id: `${metric === 'Invocations' ? 'i' : 'e'}${first + index}`,
          ReturnData: true,
          MetricStat: {
            Metric: { Namespace: 'AWS/Lambda', MetricName: metric, Dimensions: [{ Name: 'FunctionName', Value: fn.name }] },
            Period: 60,
            Stat: 'Sum',
          },
        })),
      );
      const sums = await metricSums(clientsNow, queries, start, end, signal);
      batch.forEach((fn, index) =>
        counts.set(fn.id, { invocations: sums.get(`i${first + index}`) ?? 0, errors: sums.get(`e${first + index}`) ?? 0 }),
      );
    }
    metrics = { counts, readAt };
    return metrics;
  };

  const queueCounts = async (queue: ApiTopologyQueue, url: string | undefined, signal: AbortSignal | undefined) => {
    const abort = signal ? { abortSignal: signal } : {};
    const QueueUrl = url ?? (await ctx.sqs.send(new GetQueueUrlCommand({ QueueName: queue.name }), abort)).QueueUrl!;
    const { Attributes = {} } = await ctx.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
      abort,
    );
    const count = (name: string) => Number(Attributes[name as keyof typeof Attributes] ?? 0);
    return {
      queued: count('ApproximateNumberOfMessages') + count('ApproximateNumberOfMessagesDelayed'),
      inFlight: count('ApproximateNumberOfMessagesNotVisible'),
    };
  };

  return {
    async read({ signal }) {
      const { graph, templateStage, readAt: templateReadAt } = await readGraph(signal);
      const readAt = Date.now();
      const problems: string[] = [];
      const problem = (what: string, err: unknown) =>
        problems.push(`${what}: ${(err as Error)?.name ?? 'Error'}: ${(err as Error)?.message ?? err}`);
      const functions = graph.nodes.filter((node): node is ApiTopologyFunction => node.kind === 'function');
      const queues = graph.nodes.filter((node): node is ApiTopologyQueue => node.kind === 'queue');
      const [counts, queueReads] = await Promise.all([
        functions.length
          ? readMetrics(functions, signal).catch((err: unknown) => {
              problem('CloudWatch AWS/Lambda metrics', err);
              return undefined;
            })
          : undefined,
        Promise.all(
          queues.map((queue) =>
            queueCounts(queue, graph.queueUrls[queue.id], signal).catch((err: unknown) => {
              problem(`queue ${queue.name}`, err);
              return undefined;
            }),
          ),
        ),
      ]);
      const byQueue = new Map(queues.map((queue, index) => [queue.id, queueReads[index]]));
      const nodes = graph.nodes.map((node) => {
        if (node.kind === 'function') {
          const count = counts?.counts.get(node.id);
          return { ...node, invocations: count?.invocations ?? null, errors: count?.errors ?? null };
        }
        if (node.kind === 'queue') {
          const own = byQueue.get(node.id);
          const dlq = node.deadLetterQueue ? byQueue.get(node.deadLetterQueue) : undefined;
          return {
            ...node,
            queued: own?.queued ?? null,
            inFlight: own?.inFlight ?? null,
            deadLetters: dlq ? dlq.queued + dlq.inFlight : null,
          };
        }
        return node;
      });
      return {
        stage: ctx.stage,
        stackName,
        templateStage,
        templateReadAt,
        readAt,
        metricsReadAt: counts?.readAt ?? null,
        windowMinutes,
        nodes,
        edges: graph.edges,
        notes: graph.notes,
        problems,
      };
    },
    close() {
      void clients?.then(
        (made) => {
          made.cloudformation.destroy();
          made.cloudwatch.destroy();
        },
        () => undefined,
      );
    },
  };
}
