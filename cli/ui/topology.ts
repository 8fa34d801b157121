/**
 * The Topology view's graph, from a deployed stack's CloudFormation template: pure, no I/O
 * (topologyRead.ts reads the template and the live counts).
 *
 * Why the deployed template (CloudFormation GetTemplate) and not serverless.yml: it is what
 * serverless.yml compiled to, with every `${param:}`, `${self:}` and `${file()}` already resolved,
 * for whatever stage the credentials can read, including stages deployed from another checkout;
 * and it needs neither the Serverless Framework nor the project's sources at hand. It also holds
 * what serverless.yml only implies (the event source mappings, the destinations' configs, the
 * roles). What it cannot say is what a function's code does with its permissions: the edges are
 * what the stack **allows and wires**, not traffic.
 *
 * Nodes: every `AWS::Lambda::Function`, `AWS::SQS::Queue` and `AWS::DynamoDB::Table` (or
 * `GlobalTable`). Edges:
 * - `trigger`: `AWS::Lambda::EventSourceMapping` (EventSourceArn → FunctionName), from a queue or a
 *   table's stream;
 * - `dead-letter`: a queue's `RedrivePolicy.deadLetterTargetArn` (an object or a JSON string);
 * - `on-failure` / `on-success`: `AWS::Lambda::EventInvokeConfig` destinations and a function's
 *   `DeadLetterConfig`;
 * - `sends`, `receives`, `table` (read / write), `invokes`: the function's role's `Allow`
 *   statements (inline `Policies`, `AWS::IAM::Policy` / `ManagedPolicy` resources attached to it)
 *   whose actions are `sqs:SendMessage*`, `sqs:ReceiveMessage`, DynamoDB item reads/writes,
 *   `lambda:InvokeFunction`, on a resource of the stack; `receives` only when no mapping already
 *   delivers that queue to the function, and a `sends` that only a destination explains (Lambda
 *   sends with the function's role) is folded into that destination's edge;
 * - `uses`: a stack resource named in the function's environment when its role is not (fully) in
 *   the template, so its permissions are unknown.
 *
 * A resource is "named" by `Ref`, `Fn::GetAtt`, `${X}` / `${X.Attr}` in `Fn::Sub`, or as a literal
 * (its name, ARN or URL, also inside `Fn::Join` / `Fn::Sub` with the unresolvable parts as
 * wildcards). Intrinsics it does not know (`Fn::If`, `Fn::Select`, …) are searched for such
 * references inside. A broad resource pattern (`*`, `arn:aws:sqs:*:*:app-*`) draws an edge only to
 * the resources the function's environment names: otherwise every `Resource: '*'` would connect a
 * function to everything.
 */
import { MeshConfigError } from '../../lib/errors.ts';
import type { ApiTopologyEdge, ApiTopologyEdgeKind, ApiTopologyNode } from './web/types.ts';

/** The template is not one the graph can be read from (not JSON, no `Resources`, …). */
export class TopologyTemplateError extends MeshConfigError {
  override name = 'TopologyTemplateError';
}

export interface TopologyOptions {
  /** Logical id → physical id (CloudFormation ListStackResources): names resources the template leaves unnamed. */
  physicalIds?: ReadonlyMap<string, string>;
  /** Left out of the labels, e.g. `fnmesh-local-`. */
  labelPrefix?: string;
}

/** The stack's graph, without the live counts (they are null). */
export interface TopologyGraph {
  nodes: ApiTopologyNode[];
  edges: ApiTopologyEdge[];
  /** Queue id → URL, where the physical ids give it (SQS's physical id is the queue's URL). */
  queueUrls: Record<string, string>;
  notes: string[];
}

type Json = unknown;
type Resource = { Type: string; Properties: Record<string, Json> };

const FUNCTION_TYPES = new Set(['AWS::Lambda::Function']);
const QUEUE_TYPES = new Set(['AWS::SQS::Queue']);
const TABLE_TYPES = new Set(['AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable']);

const isObject = (value: Json): value is Record<string, Json> => typeof value === 'object' && value !== null && !Array.isArray(value);
const asArray = (value: Json): Json[] => (value === undefined || value === null ? [] : Array.isArray(value) ? value : [value]);

/** What a value of the template names: logical ids (by Ref/GetAtt/Sub) and literal strings (wildcards for what is unresolvable). */
interface Named {
  ids: Set<string>;
  literals: string[];
}

const PSEUDO = /^AWS::/;

/** The `${…}` variables of a Fn::Sub string (not `${!Literal}`). */
function subVariables(text: string): string[] {
  return [...text.matchAll(/\$\{([^!}][^}]*)\}/g)].map((match) => match[1]!.trim());
}

function collect(value: Json, into: Named): void {
  if (typeof value === 'string') {
    into.literals.push(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) collect(item, into);
    return;
  }
  if (!isObject(value)) return;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const [key] = keys as [string];
    const argument = value[key];
    if (key === 'Ref') {
      if (typeof argument === 'string' && !PSEUDO.test(argument)) into.ids.add(argument);
      return;
    }
    if (key === 'Fn::GetAtt') {
      const target = typeof argument === 'string' ? argument.split('.')[0] : Array.isArray(argument) ? argument[0] : undefined;
      if (typeof target === 'string') into.ids.add(target);
      else collect(argument, into);
      return;
    }
    if (key === 'Fn::Sub') {
      const [text, variables] = typeof argument === 'string' ? [argument, {}] : Array.isArray(argument) ? argument : [undefined, {}];
      if (typeof text === 'string') {
        const local = isObject(variables) ? variables : {};
        for (const variable of subVariables(text)) {
          const name = variable.split('.')[0]!;
          if (!(name in local) && !PSEUDO.test(name)) into.ids.add(name);
        }
        into.literals.push(text.replace(/\$\{[^!}][^}]*\}/g, '*').replace(/\$\{!/g, '${'));
        for (const replacement of Object.values(local)) collect(replacement, into);
      } else collect(argument, into);
      return;
    }
    if (key === 'Fn::Join' && Array.isArray(argument) && typeof argument[0] === 'string' && Array.isArray(argument[1])) {
      const parts = argument[1];
      into.literals.push(parts.map((part) => (typeof part === 'string' ? part : '*')).join(argument[0]));
      for (const part of parts) if (typeof part !== 'string') collect(part, into);
      return;
    }
  }
  // Any other object, including intrinsics not understood here: what it names is somewhere inside.
  for (const inner of Object.values(value)) collect(inner, into);
}

function named(value: Json): Named {
  const into: Named = { ids: new Set(), literals: [] };
  collect(value, into);
  return into;
}

/** The last segment of an ARN or URL (`…:name`, `…/name`), a name's own text otherwise. */
const tail = (literal: string) => literal.split(/[:/]/).at(-1) ?? literal;

const wildcard = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );

/** A reference's match against one resource: exact (by id or name), broad (a wildcard pattern), or none. */
type Match = 'exact' | 'broad' | undefined;

export function buildTopology(template: Json, options: TopologyOptions = {}): TopologyGraph {
  const parsed = typeof template === 'string' ? parseTemplate(template) : template;
  if (!isObject(parsed)) throw new TopologyTemplateError('the stack template is not an object');
  const raw = parsed.Resources;
  if (!isObject(raw)) throw new TopologyTemplateError('the stack template has no Resources section');
  const physical = options.physicalIds ?? new Map<string, string>();
  const notes: string[] = [];

  const resources = new Map<string, Resource>();
  for (const [id, resource] of Object.entries(raw)) {
    if (!isObject(resource) || typeof resource.Type !== 'string') {
      notes.push(`resource ${id} has no Type: left out`);
      continue;
    }
    resources.set(id, { Type: resource.Type, Properties: isObject(resource.Properties) ? resource.Properties : {} });
  }
  const ofTypes = (types: ReadonlySet<string>) => [...resources].filter(([, resource]) => types.has(resource.Type)).map(([id]) => id);
  const functionIds = ofTypes(FUNCTION_TYPES);
  const queueIds = ofTypes(QUEUE_TYPES);
  const tableIds = ofTypes(TABLE_TYPES);
  const kindOf = new Map<string, ApiTopologyNode['kind']>([
    ...functionIds.map((id) => [id, 'function'] as const),
    ...queueIds.map((id) => [id, 'queue'] as const),
    ...tableIds.map((id) => [id, 'table'] as const),
  ]);

  // Names: the template's own (resolved by serverless), else the physical id, else the logical id.
  const queueUrls: Record<string, string> = {};
  const nameOf = new Map<string, string>();
  for (const id of functionIds) {
    const given = resources.get(id)!.Properties.FunctionName;
    nameOf.set(id, typeof given === 'string' ? given : (physical.get(id) ?? id));
  }
  for (const id of queueIds) {
    const given = resources.get(id)!.Properties.QueueName;
    const physicalId = physical.get(id);
    if (physicalId && /^https?:\/\//.test(physicalId)) queueUrls[id] = physicalId;
    nameOf.set(id, typeof given === 'string' ? given : physicalId ? tail(physicalId) : id);
  }
  for (const id of tableIds) {
    const given = resources.get(id)!.Properties.TableName;
    nameOf.set(id, typeof given === 'string' ? given : (physical.get(id) ?? id));
  }

  /** How `value` names resource `target` (of the graph's kinds). */
  const matches = (value: Named, target: string): Match => {
    if (value.ids.has(target)) return 'exact';
    const name = nameOf.get(target)!;
    let broad = false;
    for (const literal of value.literals) {
      const last = tail(literal);
      // `…:function:<name>:<qualifier>`, `…:table/<name>/index/*`: the name is not the last segment.
      const segments = literal.split(/[:/]/);
      const after = (marker: string) => (segments.includes(marker) ? segments[segments.indexOf(marker) + 1] : undefined);
      if (literal === name || last === name || after('function') === name || after('table') === name) return 'exact';
      if ((last.includes('*') || last.includes('?')) && wildcard(last).test(name)) broad = true;
    }
    return broad ? 'broad' : undefined;
  };
  /** The resources of `kind` that `value` names exactly. */
  const exactly = (value: Json, kind: ApiTopologyNode['kind']) => {
    const refs = named(value);
    return [...kindOf].filter(([id, k]) => k === kind && matches(refs, id) === 'exact').map(([id]) => id);
  };
  const describe = (value: Json) => JSON.stringify(value)?.slice(0, 120) ?? String(value);

  const edges = new Map<string, ApiTopologyEdge>();
  const addEdge = (from: string, to: string, kind: ApiTopologyEdgeKind, evidence: string, access?: ApiTopologyEdge['access']) => {
    const key = `${from}\n${to}\n${kind}`;
    const edge = edges.get(key) ?? { from, to, kind, evidence: [] };
    if (access) edge.access = edge.access && edge.access !== access ? 'read-write' : access;
    if (!edge.evidence.includes(evidence)) edge.evidence.push(evidence);
    edges.set(key, edge);
  };
  const hasEdge = (from: string, to: string, kinds: readonly ApiTopologyEdgeKind[]) =>
    kinds.some((kind) => edges.has(`${from}\n${to}\n${kind}`));

  // Queue → its dead-letter queue.
  const deadLetterQueueOf = new Map<string, string>();
  for (const id of queueIds) {
    let policy = resources.get(id)!.Properties.RedrivePolicy;
    if (policy === undefined) continue;
    if (typeof policy === 'string') {
      try {
        policy = JSON.parse(policy) as Json;
      } catch {
        notes.push(`queue ${id}: its RedrivePolicy is not JSON: its dead-letter queue is not drawn`);
        continue;
      }
    }
    const target = isObject(policy) ? policy.deadLetterTargetArn : undefined;
    const [dlq] = exactly(target, 'queue');
    if (dlq) {
      deadLetterQueueOf.set(id, dlq);
      addEdge(id, dlq, 'dead-letter', `RedrivePolicy of ${id}`);
    } else notes.push(`queue ${id}: its dead-letter target ${describe(target)} is not a queue of this stack`);
  }

  /** The function a FunctionName property (name, ARN, partial ARN, `name:qualifier`, Ref, GetAtt) designates. */
  const functionNamed = (value: Json): string | undefined => {
    const refs = named(value);
    const byId = functionIds.find((id) => refs.ids.has(id));
    if (byId) return byId;
    // A literal may carry a qualifier: `name:alias`, `arn:…:function:name:alias`.
    for (const literal of refs.literals) {
      const segments = literal.split(':');
      const found = functionIds.find((id) => segments.includes(nameOf.get(id)!));
      if (found) return found;
    }
    return undefined;
  };

  // Event source mappings: queue (or table stream) → function.
  const mapped = new Set<string>();
  for (const [id, resource] of resources) {
    if (resource.Type !== 'AWS::Lambda::EventSourceMapping') continue;
    const target = functionNamed(resource.Properties.FunctionName);
    const [source] = [...exactly(resource.Properties.EventSourceArn, 'queue'), ...exactly(resource.Properties.EventSourceArn, 'table')];
    if (!target) notes.push(`event source mapping ${id}: its function ${describe(resource.Properties.FunctionName)} is not in this stack`);
    else if (!source)
      notes.push(
        `event source mapping ${id}: its source ${describe(resource.Properties.EventSourceArn)} is not a queue or table of this stack`,
      );
    else {
      addEdge(source, target, 'trigger', `event source mapping ${id}`);
      mapped.add(`${source}\n${target}`);
    }
  }

  // Destinations of asynchronous invocations.
  const destination = (from: string, target: Json, kind: 'on-failure' | 'on-success', evidence: string) => {
    const [to] = [...exactly(target, 'queue'), ...exactly(target, 'function')];
    if (to) addEdge(from, to, kind, evidence);
    else notes.push(`${evidence}: its destination ${describe(target)} is not a queue or function of this stack`);
  };
  for (const [id, resource] of resources) {
    if (resource.Type !== 'AWS::Lambda::EventInvokeConfig') continue;
    const fn = functionNamed(resource.Properties.FunctionName);
    const config = resource.Properties.DestinationConfig;
    if (!fn || !isObject(config)) continue;
    for (const [key, kind] of [
      ['OnFailure', 'on-failure'],
      ['OnSuccess', 'on-success'],
    ] as const) {
      const on = config[key];
      if (isObject(on) && on.Destination !== undefined) destination(fn, on.Destination, kind, `${key} destination in ${id}`);
    }
  }
  for (const fn of functionIds) {
    const config = resources.get(fn)!.Properties.DeadLetterConfig;
    if (isObject(config) && config.TargetArn !== undefined) destination(fn, config.TargetArn, 'on-failure', `DeadLetterConfig of ${fn}`);
  }

  // Roles: the Allow statements attached to each role of the template.
  const statementsOf = new Map<string, Json[]>();
  const partialRoles = new Set<string>();
  const attach = (role: string, document: Json) => {
    const statements = isObject(document) ? asArray(document.Statement) : [];
    statementsOf.set(role, [...(statementsOf.get(role) ?? []), ...statements]);
  };
  const managedPolicies = new Map<string, Json>();
  for (const [id, resource] of resources) {
    if (resource.Type === 'AWS::IAM::ManagedPolicy') managedPolicies.set(id, resource.Properties.PolicyDocument);
  }
  for (const [id, resource] of resources) {
    if (resource.Type === 'AWS::IAM::Role') {
      statementsOf.set(id, statementsOf.get(id) ?? []);
      for (const policy of asArray(resource.Properties.Policies)) if (isObject(policy)) attach(id, policy.PolicyDocument);
      for (const arn of asArray(resource.Properties.ManagedPolicyArns)) {
        const inStack = [...named(arn).ids].filter((ref) => managedPolicies.has(ref));
        if (inStack.length) for (const policy of inStack) attach(id, managedPolicies.get(policy));
        else if (!/AWSLambdaBasicExecutionRole|AWSLambdaVPCAccessExecutionRole/.test(describe(arn))) partialRoles.add(id);
      }
    }
  }
  for (const [, resource] of resources) {
    if (resource.Type !== 'AWS::IAM::Policy' && resource.Type !== 'AWS::IAM::ManagedPolicy') continue;
    for (const role of asArray(resource.Properties.Roles))
      for (const ref of named(role).ids) attach(ref, resource.Properties.PolicyDocument);
  }

  // Functions: their grants and their environment.
  for (const fn of functionIds) {
    const properties = resources.get(fn)!.Properties;
    const roleRefs = [...named(properties.Role).ids].filter((ref) => statementsOf.has(ref));
    const roleKnown = roleRefs.length > 0 && roleRefs.every((role) => !partialRoles.has(role));
    if (!roleRefs.length) notes.push(`function ${fn}: its role is not in the template: its edges come from its environment only`);
    else if (!roleKnown) notes.push(`function ${fn}: its role has policies outside the template: its environment adds edges`);
    const environment = isObject(properties.Environment) ? properties.Environment.Variables : undefined;
    const env = named(environment);
    // The resources the environment names (exactly), except the function itself.
    const envNames = (target: string) => target !== fn && matches(env, target) === 'exact';

    type Grant = { actions: string[]; resources: Named };
    const grants: Grant[] = [];
    for (const role of roleRefs) {
      for (const statement of statementsOf.get(role) ?? []) {
        if (!isObject(statement) || statement.Effect !== 'Allow') continue;
        if (statement.Action === undefined || statement.Resource === undefined) continue; // NotAction / NotResource: not read
        const actions = asArray(statement.Action)
          .filter((action): action is string => typeof action === 'string')
          .map((action) => action.toLowerCase());
        grants.push({ actions, resources: named(statement.Resource) });
      }
    }
    const allows = (wanted: readonly string[], target: string): Match => {
      let best: Match;
      for (const grant of grants) {
        if (!grant.actions.some((pattern) => wanted.some((action) => wildcard(pattern).test(action)))) continue;
        const match = matches(grant.resources, target);
        if (match === 'exact') return 'exact';
        if (match === 'broad') best = 'broad';
      }
      return best;
    };
    const granted = (wanted: readonly string[], target: string) => {
      const match = allows(wanted, target);
      return match === 'exact' || (match === 'broad' && envNames(target));
    };

    for (const queue of queueIds) {
      if (granted(SEND, queue)) {
        const explainedByDestination = hasEdge(fn, queue, ['on-failure', 'on-success']) && !envNames(queue);
        if (explainedByDestination)
          for (const kind of ['on-failure', 'on-success'] as const) {
            const edge = edges.get(`${fn}\n${queue}\n${kind}`);
            if (edge && !edge.evidence.includes('IAM sqs:SendMessage')) edge.evidence.push('IAM sqs:SendMessage');
          }
        else addEdge(fn, queue, 'sends', 'IAM sqs:SendMessage');
      }
      if (granted(RECEIVE, queue) && !mapped.has(`${queue}\n${fn}`)) addEdge(queue, fn, 'receives', 'IAM sqs:ReceiveMessage');
    }
    for (const table of tableIds) {
      const reads = granted(TABLE_READ, table);
      const writes = granted(TABLE_WRITE, table);
      if (reads || writes) addEdge(fn, table, 'table', 'IAM dynamodb', reads && writes ? 'read-write' : reads ? 'read' : 'write');
    }
    for (const other of functionIds) {
      if (other !== fn && granted(INVOKE, other)) addEdge(fn, other, 'invokes', 'IAM lambda:InvokeFunction');
    }
    if (!roleKnown) {
      for (const target of [...queueIds, ...tableIds, ...functionIds]) {
        if (!envNames(target)) continue;
        const connected = [...edges.values()].some(
          (edge) => (edge.from === fn && edge.to === target) || (edge.from === target && edge.to === fn),
        );
        if (!connected) addEdge(fn, target, 'uses', 'named in its environment');
      }
    }
  }

  const label = (name: string) =>
    options.labelPrefix && name.startsWith(options.labelPrefix) && name.length > options.labelPrefix.length
      ? name.slice(options.labelPrefix.length)
      : name;
  const deadLetterTargets = new Set(deadLetterQueueOf.values());
  const nodes: ApiTopologyNode[] = [
    ...functionIds.map((id): ApiTopologyNode => ({
      kind: 'function',
      id,
      name: nameOf.get(id)!,
      label: label(nameOf.get(id)!),
      invocations: null,
      errors: null,
    })),
    ...queueIds.map((id): ApiTopologyNode => ({
      kind: 'queue',
      id,
      name: nameOf.get(id)!,
      label: label(nameOf.get(id)!),
      deadLetterQueue: deadLetterQueueOf.get(id) ?? null,
      isDeadLetterQueue: deadLetterTargets.has(id),
      queued: null,
      inFlight: null,
      deadLetters: null,
    })),
    ...tableIds.map((id): ApiTopologyNode => ({ kind: 'table', id, name: nameOf.get(id)!, label: label(nameOf.get(id)!) })),
  ];
  return { nodes, edges: [...edges.values()], queueUrls, notes };
}

const SEND = ['sqs:sendmessage', 'sqs:sendmessagebatch'];
const RECEIVE = ['sqs:receivemessage'];
const TABLE_READ = ['dynamodb:getitem', 'dynamodb:batchgetitem', 'dynamodb:query', 'dynamodb:scan', 'dynamodb:conditioncheckitem'];
const TABLE_WRITE = ['dynamodb:putitem', 'dynamodb:updateitem', 'dynamodb:deleteitem', 'dynamodb:batchwriteitem'];
const INVOKE = ['lambda:invokefunction', 'lambda:invokeasync'];

/** A template body (CloudFormation's GetTemplate gives a string): JSON only. @throws TopologyTemplateError */
export function parseTemplate(body: string): Json {
  try {
    return JSON.parse(body) as Json;
  } catch (err) {
    throw new TopologyTemplateError(
      `the stack template is not JSON (a YAML template cannot be read here; serverless deploys JSON): ${(err as Error).message}`,
      { cause: err },
    );
  }
}
