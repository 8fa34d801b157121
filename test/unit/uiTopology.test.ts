/**
 * The Topology view's graph (cli/ui/topology.ts), from CloudFormation templates written the way
 * serverless compiles serverless.yml (an excerpt of fnmesh's own stack) and from nasty ones:
 * intrinsics it does not know, no functions, a queue nobody uses, Fn::Join / Fn::Sub forms, broad
 * IAM resources, roles outside the template, broken input. Then `GET /api/topology` on the real
 * server with a fake data source. The graph of the deployed stack itself is checked edge by edge
 * in test/integration/uiTopology.test.ts.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTopology, TopologyTemplateError, type TopologyGraph } from '../../cli/ui/topology.ts';
import type { UiData } from '../../cli/ui/data.ts';
import { startUiServer, type UiServer } from '../../cli/ui/server.ts';
import type { ApiTopology } from '../../cli/ui/web/types.ts';
import { MeshConfigError } from '../../lib/errors.ts';

/** Edges as `from -kind-> to` with labels, sorted: what a reader of the graph sees. */
function edgesOf(graph: TopologyGraph): string[] {
  const label = new Map(graph.nodes.map((node) => [node.id, node.label]));
  return graph.edges
    .map((edge) => `${label.get(edge.from)} -${edge.kind}${edge.access ? `(${edge.access})` : ''}-> ${label.get(edge.to)}`)
    .sort();
}

const role = (statements: unknown[]) => ({
  Type: 'AWS::IAM::Role',
  Properties: {
    AssumeRolePolicyDocument: {
      Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    },
    Policies: [{ PolicyName: 'p', PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
  },
});
const logs = (fn: string) => ({
  Effect: 'Allow',
  Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/app-dev-${fn}:*` },
});
const fn = (name: string, roleId: string | unknown, environment: Record<string, unknown> = {}) => ({
  Type: 'AWS::Lambda::Function',
  Properties: {
    FunctionName: `app-dev-${name}`,
    Role: typeof roleId === 'string' ? { 'Fn::GetAtt': [roleId, 'Arn'] } : roleId,
    Environment: { Variables: { NODE_OPTIONS: '--enable-source-maps', MESH_TABLE: 'app-dev-mesh', ...environment } },
  },
});
/** A queue; its dead-letter queue by logical id (GetAtt), or `{ raw }`: the RedrivePolicy as given. */
const queue = (name: string, deadLetterQueue?: string | { raw: unknown }) => ({
  Type: 'AWS::SQS::Queue',
  Properties: {
    QueueName: `app-dev-${name}`,
    ...(deadLetterQueue === undefined
      ? {}
      : {
          RedrivePolicy:
            typeof deadLetterQueue === 'string'
              ? { deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterQueue, 'Arn'] }, maxReceiveCount: 3 }
              : deadLetterQueue.raw,
        }),
  },
});
const mapping = (queueId: string, functionId: string) => ({
  Type: 'AWS::Lambda::EventSourceMapping',
  Properties: {
    BatchSize: 10,
    EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
    FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
    Enabled: true,
  },
});
const table = { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'app-dev-mesh', BillingMode: 'PAY_PER_REQUEST' } };
const tableArn = { 'Fn::GetAtt': ['MeshTable', 'Arn'] };

/** An excerpt of fnmesh's stack as serverless compiles it (names resolved, one role per function). */
const SERVERLESS_STACK = {
  AWSTemplateFormatVersion: '2010-09-09',
  Resources: {
    ServerlessDeploymentBucket: { Type: 'AWS::S3::Bucket', Properties: {} },
    WorkerLogGroup: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: '/aws/lambda/app-dev-worker' } },
    PingLambdaFunction: fn('ping', 'PingRole'),
    ChannelLambdaFunction: fn('channel', 'ChannelRole', { PING_QUEUE_URL: { Ref: 'PingQueue' } }),
    HelloLambdaFunction: fn('hello', 'HelloRole'),
    WorkerLambdaFunction: fn('worker', 'WorkerRole', {
      TASKS_QUEUE_URL: { Ref: 'TasksQueue' },
      RESULTS_QUEUE_URL: { Ref: 'ResultsQueue' },
    }),
    CounterLambdaFunction: fn('counter', 'CounterRole'),
    HelloLambdaEvConf: {
      Type: 'AWS::Lambda::EventInvokeConfig',
      Properties: {
        FunctionName: { Ref: 'HelloLambdaFunction' },
        Qualifier: '$LATEST',
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['TaskFailuresQueue', 'Arn'] } } },
      },
    },
    WorkerEventSourceMappingSQSTasksQueue: mapping('TasksQueue', 'WorkerLambdaFunction'),
    MeshTable: table,
    PingQueue: queue('ping', 'PingDeadLetterQueue'),
    PingDeadLetterQueue: queue('ping-dlq'),
    TasksQueue: queue('tasks', 'TasksDeadLetterQueue'),
    TasksDeadLetterQueue: queue('tasks-dlq'),
    ResultsQueue: queue('results', 'ResultsDeadLetterQueue'),
    ResultsDeadLetterQueue: queue('results-dlq'),
    // A RedrivePolicy given as a JSON string, as CloudFormation also accepts.
    Shard0Queue: queue('shard-0', {
      raw: JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:us-east-1:123456789012:app-dev-shards-dlq', maxReceiveCount: 3 }),
    }),
    Shard1Queue: queue('shard-1', 'ShardsDeadLetterQueue'),
    ShardsDeadLetterQueue: queue('shards-dlq'),
    TaskFailuresQueue: queue('task-failures'),
    PingRole: role([logs('ping')]),
    ChannelRole: role([
      logs('channel'),
      { Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: tableArn },
      { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: { 'Fn::GetAtt': ['PingQueue', 'Arn'] } },
    ]),
    HelloRole: role([
      logs('hello'),
      { Effect: 'Allow', Action: ['dynamodb:PutItem'], Resource: tableArn },
      { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: { 'Fn::GetAtt': ['TaskFailuresQueue', 'Arn'] } },
    ]),
    WorkerRole: role([
      logs('worker'),
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Resource: tableArn },
      {
        Effect: 'Allow',
        Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'],
        Resource: { 'Fn::GetAtt': ['TasksQueue', 'Arn'] },
      },
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['ResultsQueue', 'Arn'] } },
    ]),
    CounterRole: role([logs('counter'), { Effect: 'Allow', Action: ['dynamodb:GetItem'], Resource: tableArn }]),
  },
  Outputs: { PingQueueUrl: { Value: { Ref: 'PingQueue' } } },
};

describe('buildTopology', () => {
  describe('a stack as serverless compiles it', () => {
    it('draws every function, queue and table, and exactly the edges the stack wires and allows', () => {
      // Act
      const graph = buildTopology(SERVERLESS_STACK, { labelPrefix: 'app-dev-' });
      // Assess
      expect(graph.nodes.map((node) => `${node.kind}:${node.label}`)).toEqual([
        'function:ping',
        'function:channel',
        'function:hello',
        'function:worker',
        'function:counter',
        'queue:ping',
        'queue:ping-dlq',
        'queue:tasks',
        'queue:tasks-dlq',
        'queue:results',
        'queue:results-dlq',
        'queue:shard-0',
        'queue:shard-1',
        'queue:shards-dlq',
        'queue:task-failures',
        'table:mesh',
      ]);
      expect(edgesOf(graph)).toEqual(
        [
          // Event source mapping: the queue invokes the function; the worker's IAM receive adds nothing.
          'tasks -trigger-> worker',
          // IAM sqs:SendMessage on a queue of the stack.
          'channel -sends-> ping',
          'worker -sends-> results',
          // The destination; its IAM SendMessage grant is folded into it, not a second edge.
          'hello -on-failure-> task-failures',
          // RedrivePolicy, as an object or a JSON string with a literal ARN; two queues sharing one.
          'ping -dead-letter-> ping-dlq',
          'tasks -dead-letter-> tasks-dlq',
          'results -dead-letter-> results-dlq',
          'shard-0 -dead-letter-> shards-dlq',
          'shard-1 -dead-letter-> shards-dlq',
          // DynamoDB item actions, by access. Ping names the table in its environment but may not touch it: no edge.
          'channel -table(write)-> mesh',
          'hello -table(write)-> mesh',
          'worker -table(read-write)-> mesh',
          'counter -table(read)-> mesh',
        ].sort(),
      );
      expect(graph.edges.find((edge) => edge.kind === 'on-failure')?.evidence).toEqual([
        'OnFailure destination in HelloLambdaEvConf',
        'IAM sqs:SendMessage',
      ]);
      expect(graph.notes).toEqual([]);
    });

    it('marks dead-letter queues and links each queue to its own', () => {
      // Act
      const graph = buildTopology(SERVERLESS_STACK, { labelPrefix: 'app-dev-' });
      const queues = new Map(graph.nodes.flatMap((node) => (node.kind === 'queue' ? [[node.label, node] as const] : [])));
      // Assess
      expect([...queues.values()].filter((node) => node.isDeadLetterQueue).map((node) => node.label)).toEqual([
        'ping-dlq',
        'tasks-dlq',
        'results-dlq',
        'shards-dlq',
      ]);
      expect(queues.get('shard-0')?.deadLetterQueue).toBe('ShardsDeadLetterQueue');
      expect(queues.get('task-failures')?.deadLetterQueue).toBeNull();
      expect(queues.get('tasks')).toMatchObject({ queued: null, inFlight: null, deadLetters: null });
    });

    it('reads a template body given as a JSON string, and labels without the prefix only where it applies', () => {
      // Act
      const graph = buildTopology(JSON.stringify(SERVERLESS_STACK), { labelPrefix: 'app-dev-tasks' });
      // Assess: `app-dev-tasks` itself keeps its name (an empty label would be no label), `-dlq` loses the prefix.
      expect(graph.nodes.find((node) => node.id === 'TasksQueue')?.label).toBe('app-dev-tasks');
      expect(graph.nodes.find((node) => node.id === 'TasksDeadLetterQueue')?.label).toBe('-dlq');
      expect(graph.nodes.find((node) => node.id === 'PingQueue')?.label).toBe('app-dev-ping');
    });
  });

  describe('names', () => {
    it('names the resources the template leaves unnamed by their physical ids, and keeps queue URLs for reading them', () => {
      // Prepare
      const template = {
        Resources: {
          Jobs: { Type: 'AWS::SQS::Queue', Properties: {} },
          Handler: { Type: 'AWS::Lambda::Function', Properties: { Role: 'arn:aws:iam::1:role/outside' } },
          Store: { Type: 'AWS::DynamoDB::Table', Properties: {} },
          Map: mapping('Jobs', 'Handler'),
        },
      };
      const physicalIds = new Map([
        ['Jobs', 'https://sqs.us-east-1.amazonaws.com/123456789012/stack-Jobs-AbC123'],
        ['Handler', 'stack-Handler-XyZ'],
        ['Store', 'stack-Store-1Q2W'],
      ]);
      // Act
      const graph = buildTopology(template, { physicalIds });
      // Assess
      expect(graph.nodes.map((node) => node.name)).toEqual(['stack-Handler-XyZ', 'stack-Jobs-AbC123', 'stack-Store-1Q2W']);
      expect(graph.queueUrls).toEqual({ Jobs: 'https://sqs.us-east-1.amazonaws.com/123456789012/stack-Jobs-AbC123' });
      expect(edgesOf(graph)).toEqual(['stack-Jobs-AbC123 -trigger-> stack-Handler-XyZ']);
      expect(graph.notes).toEqual(['function Handler: its role is not in the template: its edges come from its environment only']);
    });
  });

  describe('nasty templates', () => {
    it('finds references inside intrinsics it does not know (Fn::If, Fn::Select) and notes what is outside the stack', () => {
      // Prepare
      const template = {
        Resources: {
          Jobs: queue('jobs'),
          Other: queue('other'),
          Handler: fn('handler', 'HandlerRole'),
          HandlerRole: role([]),
          Conditional: {
            Type: 'AWS::Lambda::EventSourceMapping',
            Properties: {
              EventSourceArn: { 'Fn::If': ['IsProd', { 'Fn::GetAtt': ['Jobs', 'Arn'] }, { Ref: 'AWS::NoValue' }] },
              FunctionName: { 'Fn::Select': [0, [{ Ref: 'Handler' }]] },
            },
          },
          Imported: {
            Type: 'AWS::Lambda::EventSourceMapping',
            Properties: { EventSourceArn: { 'Fn::ImportValue': 'shared-stream-arn' }, FunctionName: { Ref: 'Handler' } },
          },
          Elsewhere: {
            Type: 'AWS::Lambda::EventSourceMapping',
            Properties: { EventSourceArn: { 'Fn::GetAtt': ['Other', 'Arn'] }, FunctionName: 'someone-elses-function' },
          },
          Weird: { Type: 'Custom::Thing', Properties: { Anything: { 'Fn::Transform': { Name: 'X' } } } },
          Typeless: { Properties: {} },
        },
      };
      // Act
      const graph = buildTopology(template, { labelPrefix: 'app-dev-' });
      // Assess
      expect(edgesOf(graph)).toEqual(['jobs -trigger-> handler']);
      expect(graph.notes).toEqual([
        'resource Typeless has no Type: left out',
        'event source mapping Imported: its source {"Fn::ImportValue":"shared-stream-arn"} is not a queue or table of this stack',
        'event source mapping Elsewhere: its function "someone-elses-function" is not in this stack',
      ]);
    });

    it('draws a stack with no functions: its queues, tables and dead-letter edges', () => {
      // Act
      const graph = buildTopology({ Resources: { Jobs: queue('jobs', 'JobsDlq'), JobsDlq: queue('jobs-dlq'), MeshTable: table } }, {});
      // Assess
      expect(graph.nodes.map((node) => node.kind)).toEqual(['queue', 'queue', 'table']);
      expect(edgesOf(graph)).toEqual(['app-dev-jobs -dead-letter-> app-dev-jobs-dlq']);
    });

    it('keeps a queue nobody uses as a node without edges, and an empty Resources as an empty graph', () => {
      // Act
      const graph = buildTopology({ Resources: { Lonely: queue('lonely'), Handler: fn('handler', 'HandlerRole'), HandlerRole: role([]) } });
      const empty = buildTopology({ Resources: {} });
      // Assess
      expect(graph.nodes.map((node) => node.label)).toEqual(['app-dev-handler', 'app-dev-lonely']);
      expect(graph.edges).toEqual([]);
      expect(empty).toEqual({ nodes: [], edges: [], queueUrls: {}, notes: [] });
    });

    it('reads Fn::Join and Fn::Sub forms of ARNs, names and URLs, in IAM resources, destinations and redrive policies', () => {
      // Prepare
      const arnOf = (name: string) => ({
        'Fn::Join': [':', ['arn', { Ref: 'AWS::Partition' }, 'sqs', { Ref: 'AWS::Region' }, { Ref: 'AWS::AccountId' }, `app-dev-${name}`]],
      });
      const template = {
        Resources: {
          A: queue('a', {
            raw: { deadLetterTargetArn: { 'Fn::Sub': 'arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:app-dev-a-dlq' } },
          }),
          ADlq: queue('a-dlq'),
          B: queue('b'),
          C: queue('c'),
          D: queue('d'),
          E: queue('e'),
          Store: table,
          Sender: fn('sender', 'SenderRole'),
          Target: fn('target', 'TargetRole'),
          TargetRole: role([]),
          SenderRole: role([
            { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: arnOf('a') },
            { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::Sub': '${B.Arn}' } },
            { Effect: 'Allow', Action: 'sqs:SendMessageBatch', Resource: { 'Fn::Sub': ['${Q}', { Q: { 'Fn::GetAtt': ['C', 'Arn'] } }] } },
            // `${!Literal}` is not a variable: no reference to a resource named Literal.
            { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::Sub': 'arn:aws:sqs:us-east-1:1:${!D}' } },
            {
              Effect: 'Allow',
              Action: 'dynamodb:Query',
              Resource: { 'Fn::Join': ['/', [{ 'Fn::GetAtt': ['Store', 'Arn'] }, 'index', '*']] },
            },
            {
              Effect: 'Allow',
              Action: 'lambda:InvokeFunction',
              Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:app-dev-target:live' },
            },
          ]),
          SenderAsync: {
            Type: 'AWS::Lambda::EventInvokeConfig',
            Properties: { FunctionName: 'app-dev-sender', DestinationConfig: { OnSuccess: { Destination: arnOf('e') } } },
          },
        },
      };
      // Act
      const graph = buildTopology(template, { labelPrefix: 'app-dev-' });
      // Assess: the `:live` qualifier is not part of the name; `${!D}` names nothing.
      expect(edgesOf(graph)).toEqual(
        [
          'a -dead-letter-> a-dlq',
          'sender -sends-> a',
          'sender -sends-> b',
          'sender -sends-> c',
          'sender -table(read)-> mesh',
          'sender -on-success-> e',
          'sender -invokes-> target',
        ].sort(),
      );
    });

    it('draws a broad resource (`*`, a wildcard name) only to what the environment names; ignores Deny and NotAction', () => {
      // Prepare
      const template = {
        Resources: {
          Jobs: queue('jobs'),
          Audit: queue('audit'),
          Spare: queue('spare'),
          Store: table,
          Handler: fn('handler', 'HandlerRole', { JOBS: { Ref: 'Jobs' }, AUDIT: 'https://sqs.us-east-1.amazonaws.com/1/app-dev-audit' }),
          HandlerRole: role([
            { Effect: 'Allow', Action: 'sqs:*', Resource: '*' },
            { Effect: 'Allow', Action: 'dynamodb:*', Resource: 'arn:aws:dynamodb:*:*:table/app-dev-*' },
            { Effect: 'Deny', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['Spare', 'Arn'] } },
            { Effect: 'Allow', NotAction: 'sqs:DeleteQueue', Resource: { 'Fn::GetAtt': ['Spare', 'Arn'] } },
          ]),
        },
      };
      // Act
      const graph = buildTopology(template, { labelPrefix: 'app-dev-' });
      // Assess: jobs and audit (named in the environment, by Ref and by URL) and the table (named by MESH_TABLE).
      expect(edgesOf(graph)).toEqual(
        [
          'handler -sends-> jobs',
          'jobs -receives-> handler',
          'handler -sends-> audit',
          'audit -receives-> handler',
          'handler -table(read-write)-> mesh',
        ].sort(),
      );
    });

    it('uses the environment when the role is outside the template (or partly), and IAM::Policy resources attached to a role', () => {
      // Prepare
      const template = {
        Resources: {
          Jobs: queue('jobs'),
          Store: table,
          Outsider: fn('outsider', 'arn:aws:iam::123456789012:role/made-elsewhere', { JOBS: { Ref: 'Jobs' } }),
          Partial: fn('partial', 'PartialRole', { JOBS: { 'Fn::GetAtt': ['Jobs', 'QueueName'] } }),
          PartialRole: {
            Type: 'AWS::IAM::Role',
            Properties: { ManagedPolicyArns: ['arn:aws:iam::aws:policy/AmazonSQSFullAccess'] },
          },
          Attached: fn('attached', 'AttachedRole', { OUTSIDER: { Ref: 'Outsider' } }),
          AttachedRole: role([]),
          AttachedPolicy: {
            Type: 'AWS::IAM::Policy',
            Properties: {
              Roles: [{ Ref: 'AttachedRole' }],
              PolicyDocument: { Statement: { Effect: 'Allow', Action: 'lambda:Invoke*', Resource: { 'Fn::GetAtt': ['Outsider', 'Arn'] } } },
            },
          },
        },
      };
      // Act
      const graph = buildTopology(template, { labelPrefix: 'app-dev-' });
      // Assess
      expect(edgesOf(graph)).toEqual(
        [
          'outsider -uses-> jobs',
          'outsider -uses-> mesh',
          'partial -uses-> jobs',
          'partial -uses-> mesh',
          'attached -invokes-> outsider',
        ].sort(),
      );
      expect(graph.notes).toEqual([
        'function Outsider: its role is not in the template: its edges come from its environment only',
        'function Partial: its role has policies outside the template: its environment adds edges',
      ]);
    });

    it('draws a table stream mapping and a function DeadLetterConfig; notes destinations outside the stack', () => {
      // Prepare
      const template = {
        Resources: {
          Store: { ...table, Properties: { ...table.Properties, StreamSpecification: { StreamViewType: 'NEW_IMAGE' } } },
          Failed: queue('failed'),
          Reader: {
            ...fn('reader', 'ReaderRole'),
            Properties: { ...fn('reader', 'ReaderRole').Properties, DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': ['Failed', 'Arn'] } } },
          },
          ReaderRole: role([]),
          Stream: {
            Type: 'AWS::Lambda::EventSourceMapping',
            Properties: { EventSourceArn: { 'Fn::GetAtt': ['Store', 'StreamArn'] }, FunctionName: 'app-dev-reader' },
          },
          ToTopic: {
            Type: 'AWS::Lambda::EventInvokeConfig',
            Properties: {
              FunctionName: { Ref: 'Reader' },
              DestinationConfig: { OnFailure: { Destination: 'arn:aws:sns:us-east-1:1:alerts' } },
            },
          },
        },
      };
      // Act
      const graph = buildTopology(template, { labelPrefix: 'app-dev-' });
      // Assess
      expect(edgesOf(graph)).toEqual(['mesh -trigger-> reader', 'reader -on-failure-> failed']);
      expect(graph.notes).toEqual([
        'OnFailure destination in ToTopic: its destination "arn:aws:sns:us-east-1:1:alerts" is not a queue or function of this stack',
      ]);
    });
  });

  describe('bad input', () => {
    it.each([
      ['a YAML body', 'Resources:\n  Q: { Type: AWS::SQS::Queue }', /not JSON \(a YAML template cannot be read here/],
      ['JSON that is not an object', '[1, 2]', /not an object/],
      ['no Resources', { AWSTemplateFormatVersion: '2010-09-09' }, /no Resources section/],
      ['Resources as a list', { Resources: [{ Type: 'AWS::SQS::Queue' }] }, /no Resources section/],
      ['null', null, /not an object/],
    ])('refuses %s with a TopologyTemplateError (a MeshConfigError)', (_what, template, message) => {
      // Act
      const act = () => buildTopology(template);
      // Assess
      expect(act).toThrow(TopologyTemplateError);
      expect(act).toThrow(MeshConfigError);
      expect(act).toThrow(message);
    });

    it('never throws on arbitrary resources, and every edge joins two nodes of the graph', () => {
      const intrinsic = fc.letrec((tie) => ({
        value: fc.oneof(
          { depthSize: 'small' },
          fc.string(),
          fc.integer(),
          fc.constant(null),
          fc.constantFrom('Q1', 'F1', 'T1', 'R1', '*', 'app-dev-q1', 'arn:aws:sqs:*:*:app-*'),
          fc.record({ Ref: fc.constantFrom('Q1', 'F1', 'T1', 'AWS::Region', 'Nope') }),
          fc.record({ 'Fn::GetAtt': fc.oneof(fc.tuple(fc.constantFrom('Q1', 'F1', 'T1'), fc.string()), fc.string()) }),
          fc.record({ 'Fn::Sub': fc.oneof(fc.string(), fc.tuple(fc.string(), tie('value'))) }),
          fc.record({ 'Fn::Join': fc.tuple(fc.string(), fc.array(tie('value'), { maxLength: 4 })) }),
          fc.array(tie('value'), { maxLength: 3 }),
          fc.dictionary(
            fc.constantFrom('Effect', 'Action', 'Resource', 'Statement', 'Fn::If', 'deadLetterTargetArn', 'Variables'),
            tie('value'),
            {
              maxKeys: 3,
            },
          ),
        ),
      })).value;
      const resource = fc.record({
        Type: fc.constantFrom(
          'AWS::SQS::Queue',
          'AWS::Lambda::Function',
          'AWS::DynamoDB::Table',
          'AWS::Lambda::EventSourceMapping',
          'AWS::Lambda::EventInvokeConfig',
          'AWS::IAM::Role',
          'AWS::IAM::Policy',
          'AWS::IAM::ManagedPolicy',
          'Custom::X',
        ),
        Properties: fc.dictionary(
          fc.constantFrom(
            'QueueName',
            'FunctionName',
            'TableName',
            'RedrivePolicy',
            'EventSourceArn',
            'DestinationConfig',
            'DeadLetterConfig',
            'Role',
            'Roles',
            'Policies',
            'PolicyDocument',
            'ManagedPolicyArns',
            'Environment',
          ),
          intrinsic,
          { maxKeys: 5 },
        ),
      });
      fc.assert(
        fc.property(fc.dictionary(fc.constantFrom('Q1', 'Q2', 'F1', 'F2', 'T1', 'R1', 'M1', 'X1'), resource), (resources) => {
          const graph = buildTopology({ Resources: resources });
          const ids = new Set(graph.nodes.map((node) => node.id));
          for (const edge of graph.edges) {
            expect(ids.has(edge.from) && ids.has(edge.to)).toBe(true);
            expect(edge.evidence.length).toBeGreaterThan(0);
          }
          expect(ids.size).toBe(graph.nodes.length);
        }),
        { numRuns: 300 },
      );
    });
  });
});

describe('GET /api/topology', () => {
  const DOCUMENT: ApiTopology = {
    stage: 'test',
    stackName: 'app-test',
    templateStage: 'Processed',
    templateReadAt: 1,
    readAt: 2,
    metricsReadAt: 2,
    windowMinutes: 15,
    ...buildTopology(SERVERLESS_STACK, { labelPrefix: 'app-dev-' }),
    problems: [],
  };
  let stackDeployed = true;
  let server: UiServer;
  const data: UiData = {
    stage: 'test',
    tableName: 'app-test-mesh',
    status: async () => {
      throw new Error('not used');
    },
    traces: async () => [],
    trace: async () => {
      throw new Error('not used');
    },
    topology: async () => {
      if (!stackDeployed) throw new MeshConfigError('stack app-test cannot be read: Stack with id app-test does not exist');
      return DOCUMENT;
    },
  };

  beforeAll(async () => {
    server = await startUiServer({ data, assets: { html: '', js: '', css: '' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  const get = (headers: Record<string, string>) =>
    fetch(`http://127.0.0.1:${server.port}/api/topology`, { headers }).then(async (answer) => ({
      status: answer.status,
      body: (await answer.json()) as unknown,
    }));

  it('answers the graph with the token, 403 without it, 404 with the reason when the stack cannot be read', async () => {
    // Act
    const ok = await get({ 'X-Fnmesh-Token': server.token });
    const refused = await get({});
    stackDeployed = false;
    const missing = await get({ 'X-Fnmesh-Token': server.token });
    stackDeployed = true;
    // Assess
    expect(ok).toEqual({ status: 200, body: JSON.parse(JSON.stringify(DOCUMENT)) });
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).not.toContain('ping');
    expect(missing).toEqual({
      status: 404,
      body: { error: { status: 404, message: 'stack app-test cannot be read: Stack with id app-test does not exist' } },
    });
  });
});
