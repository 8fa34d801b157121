/**
 * The Topology section: the deployed stack's functions, queues and table as a graph (inline SVG,
 * no drawing library), with the edges the stack wires and allows (GET /api/topology, built from
 * the stack's CloudFormation template by cli/ui/topology.ts) and live numbers on each node: a
 * queue's queued / in flight / dead letters (SQS) and closed (the channel's meta item, from the
 * status the page already follows), a function's invocations and errors over the last 15 minutes
 * (CloudWatch AWS/Lambda). Re-read every 2 s, the next read scheduled when one ends.
 *
 * Layout: four columns, left to right: the queues (and table streams) that trigger functions, the
 * functions, what the functions send to or use (queues, the table), the dead-letter queues; within
 * a column, nodes are ordered by their neighbours' positions (two barycentre sweeps) to keep
 * crossings few. Each node is focusable (Tab) with an accessible name that carries its numbers and
 * connections; focusing (or hovering) one highlights its edges. The same numbers are in the tables
 * below the drawing, which are the text alternative.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiRefused, readTopology } from './api.ts';
import { Empty, Section, time } from './parts.tsx';
import type { ApiStatus, ApiTopology, ApiTopologyEdge, ApiTopologyEdgeKind, ApiTopologyNode, ApiTopologyQueue } from './types.ts';

const TOPOLOGY_EVERY_MS = 2000;

const NODE_W = 190;
const NODE_H = 58;
const COLUMN_GAP = 110;
const ROW_GAP = 14;
const PAD = 16;

/** How each kind of edge reads in words, from its source's side, then from its target's. */
const EDGE_WORDS: Record<ApiTopologyEdgeKind, string> = {
  trigger: 'triggers',
  receives: 'is received by',
  sends: 'sends to',
  'on-failure': 'on failure sends to',
  'on-success': 'on success sends to',
  'dead-letter': 'dead-letters to',
  table: 'uses table',
  invokes: 'invokes',
  uses: 'uses',
};
const EDGE_WORDS_IN: Record<ApiTopologyEdgeKind, string> = {
  trigger: 'triggered by',
  receives: 'receives from',
  sends: 'gets messages from',
  'on-failure': 'gets the failed events of',
  'on-success': 'gets the successful events of',
  'dead-letter': 'gets the dead letters of',
  table: 'used by',
  invokes: 'invoked by',
  uses: 'used by',
};

interface Placed {
  node: ApiTopologyNode;
  column: number;
  x: number;
  y: number;
}

/** The column of each node: 0 triggers, 1 functions, 2 targets, 3 dead-letter queues. */
function columnOf(node: ApiTopologyNode, edges: readonly ApiTopologyEdge[]): number {
  if (node.kind === 'function') return 1;
  if (edges.some((edge) => edge.from === node.id && (edge.kind === 'trigger' || edge.kind === 'receives'))) return 0;
  if (node.kind === 'queue' && node.isDeadLetterQueue) return 3;
  return 2;
}

/** Places the nodes: columns, then two barycentre sweeps to order each column by its neighbours. */
function layout(topology: ApiTopology): { placed: Map<string, Placed>; width: number; height: number } {
  const neighbours = new Map<string, string[]>();
  for (const edge of topology.edges) {
    neighbours.set(edge.from, [...(neighbours.get(edge.from) ?? []), edge.to]);
    neighbours.set(edge.to, [...(neighbours.get(edge.to) ?? []), edge.from]);
  }
  const columnById = new Map(topology.nodes.map((node) => [node.id, columnOf(node, topology.edges)]));
  const columns: ApiTopologyNode[][] = [[], [], [], []];
  for (const node of topology.nodes) columns[columnById.get(node.id)!]!.push(node);
  const position = new Map<string, number>();
  const renumber = () =>
    columns.forEach((column) =>
      column.forEach((node, index) => position.set(node.id, column.length > 1 ? index / (column.length - 1) : 0.5)),
    );
  renumber();
  const sortBy = (column: number, towards: (other: number) => boolean) => {
    const keyed = columns[column]!.map((node) => {
      const around = (neighbours.get(node.id) ?? []).filter((id) => towards(columnById.get(id)!)).map((id) => position.get(id)!);
      return { node, key: around.length ? around.reduce((a, b) => a + b, 0) / around.length : position.get(node.id)! };
    });
    // Stable: equal keys keep the template's order.
    columns[column] = keyed.sort((a, b) => a.key - b.key).map(({ node }) => node);
    renumber();
  };
  for (let sweep = 0; sweep < 2; sweep++) {
    for (const column of [1, 2, 3]) sortBy(column, (other) => other < column);
    for (const column of [2, 1, 0]) sortBy(column, (other) => other > column);
  }
  const used = columns.map((column, index) => ({ column, index })).filter(({ column }) => column.length > 0);
  const tallest = Math.max(1, ...used.map(({ column }) => column.length));
  const height = PAD * 2 + tallest * NODE_H + (tallest - 1) * ROW_GAP;
  const placed = new Map<string, Placed>();
  used.forEach(({ column, index }, slot) => {
    const own = column.length * NODE_H + (column.length - 1) * ROW_GAP;
    const top = PAD + (height - PAD * 2 - own) / 2;
    column.forEach((node, row) =>
      placed.set(node.id, { node, column: index, x: PAD + slot * (NODE_W + COLUMN_GAP), y: top + row * (NODE_H + ROW_GAP) }),
    );
  });
  const width = PAD * 2 + used.length * NODE_W + Math.max(0, used.length - 1) * COLUMN_GAP;
  return { placed, width, height };
}

/** An edge's path: right side to left side going right; left side to right side going back; a loop within a column. */
function edgePath(from: Placed, to: Placed): string {
  const y1 = from.y + NODE_H / 2;
  const y2 = to.y + NODE_H / 2;
  if (to.x > from.x) {
    const x1 = from.x + NODE_W;
    const x2 = to.x;
    const bend = Math.max(40, (x2 - x1) / 2);
    return `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
  }
  if (to.x < from.x) {
    const x1 = from.x;
    const x2 = to.x + NODE_W;
    return `M${x1},${y1} C${x1 - 45},${y1} ${x2 + 45},${y2} ${x2},${y2}`;
  }
  const x = from.x + NODE_W;
  return `M${x},${y1} C${x + 50},${y1} ${x + 50},${y2} ${x},${y2}`;
}

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;
const shown = (value: number | null) => (value === null ? '–' : String(value));

/** One number on a node: its value (in a tspan of its own, `data-field`) and its unit. */
interface Figure {
  field: string;
  value: number | null;
  unit: string;
  bad?: boolean;
}

const figure = (field: string, value: number | null, one: string, many = `${one}s`): Figure => ({
  field,
  value,
  unit: value === 1 ? one : many,
  bad: field === 'errors' || field === 'deadLetters' || field === 'dead' ? (value ?? 0) > 0 : false,
});

/** The lines under a node's name: figures, or a word. */
function numberLines(node: ApiTopologyNode, closed: boolean | undefined): (Figure | string)[][] {
  if (node.kind === 'function') return [[figure('invocations', node.invocations, 'invocation')], [figure('errors', node.errors, 'error')]];
  if (node.kind === 'table') return [['DynamoDB table']];
  if (node.isDeadLetterQueue)
    return [[figure('dead', node.queued === null ? null : node.queued + (node.inFlight ?? 0), 'dead letter')], ['dead-letter queue']];
  return [
    [figure('queued', node.queued, 'queued', 'queued'), figure('inFlight', node.inFlight, 'in flight', 'in flight')],
    [...(node.deadLetterQueue ? [figure('deadLetters', node.deadLetters, 'dead letter')] : []), ...(closed ? ['closed'] : [])],
  ];
}

/** A node's accessible name: what it is, its numbers, and its connections in words. */
function accessibleName(node: ApiTopologyNode, topology: ApiTopology, labels: Map<string, string>, closed: boolean | undefined): string {
  const parts: string[] = [];
  if (node.kind === 'function')
    parts.push(
      `function ${node.label}: ${node.invocations === null ? 'invocations unknown' : plural(node.invocations, 'invocation')}, ${
        node.errors === null ? 'errors unknown' : plural(node.errors, 'error')
      } in the last ${topology.windowMinutes} minutes`,
    );
  else if (node.kind === 'queue')
    parts.push(
      `${node.isDeadLetterQueue ? 'dead-letter queue' : 'queue'} ${node.label}: ${shown(node.queued)} queued, ${shown(node.inFlight)} in flight` +
        (node.deadLetterQueue ? `, ${shown(node.deadLetters)} dead letters` : '') +
        (closed ? ', closed' : ''),
    );
  else parts.push(`table ${node.label}`);
  for (const edge of topology.edges) {
    if (edge.from === node.id) parts.push(`${EDGE_WORDS[edge.kind]} ${labels.get(edge.to)}${edge.access ? ` (${edge.access})` : ''}`);
    else if (edge.to === node.id)
      parts.push(`${EDGE_WORDS_IN[edge.kind]} ${labels.get(edge.from)}${edge.access ? ` (${edge.access})` : ''}`);
  }
  return parts.join('; ');
}

/** A function's or a queue's connections of some kinds, as labels. */
const connected = (topology: ApiTopology, labels: Map<string, string>, id: string, side: 'from' | 'to', kinds: ApiTopologyEdgeKind[]) =>
  topology.edges
    .filter((edge) => edge[side] === id && kinds.includes(edge.kind))
    .map((edge) => labels.get(side === 'from' ? edge.to : edge.from)! + (edge.access ? ` (${edge.access})` : ''))
    .join(', ') || '–';

function Graph({ topology, closedOf }: { topology: ApiTopology; closedOf: (node: ApiTopologyNode) => boolean | undefined }) {
  const [hot, setHot] = useState<string | null>(null);
  const { placed, width, height } = useMemo(() => layout(topology), [topology]);
  const labels = useMemo(() => new Map(topology.nodes.map((node) => [node.id, node.label])), [topology]);
  const counts = `${plural(topology.nodes.filter((node) => node.kind === 'function').length, 'function')}, ${plural(
    topology.nodes.filter((node) => node.kind === 'queue').length,
    'queue',
  )}, ${plural(topology.nodes.filter((node) => node.kind === 'table').length, 'table')}`;
  return (
    <svg
      class={`topology${hot ? ' focused' : ''}`}
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
      role="group"
      aria-label={`Stack ${topology.stackName}: ${counts}`}
    >
      <defs>
        <marker
          id="arrow"
          viewBox="0 0 10 10"
          refX="9"
          refY="5"
          markerWidth="8"
          markerHeight="8"
          markerUnits="userSpaceOnUse"
          orient="auto"
        >
          <path d="M0,0 L10,5 L0,10 z" class="arrow" />
        </marker>
        <marker
          id="arrow-hot"
          viewBox="0 0 10 10"
          refX="9"
          refY="5"
          markerWidth="11"
          markerHeight="11"
          markerUnits="userSpaceOnUse"
          orient="auto"
        >
          <path d="M0,0 L10,5 L0,10 z" class="arrow hot" />
        </marker>
      </defs>
      <g class="edges" aria-hidden="true">
        {topology.edges.map((edge) => {
          const from = placed.get(edge.from);
          const to = placed.get(edge.to);
          if (!from || !to) return null;
          const isHot = hot !== null && (edge.from === hot || edge.to === hot);
          return (
            <path
              key={`${edge.from} ${edge.to} ${edge.kind}`}
              d={edgePath(from, to)}
              class={`edge k-${edge.kind}${isHot ? ' hot' : ''}`}
              marker-end={isHot ? 'url(#arrow-hot)' : 'url(#arrow)'}
              data-edge={`${labels.get(edge.from)}>${labels.get(edge.to)}`}
              data-kind={edge.kind}
            >
              <title>{`${labels.get(edge.from)} ${EDGE_WORDS[edge.kind]} ${labels.get(edge.to)}: ${edge.evidence.join('; ')}`}</title>
            </path>
          );
        })}
      </g>
      {[...placed.values()].map(({ node, x, y }) => {
        const closed = closedOf(node);
        const classes = ['node', `k-${node.kind}`];
        if (node.kind === 'queue' && node.isDeadLetterQueue) classes.push('dlq');
        if (hot === node.id) classes.push('hot');
        return (
          <g
            key={node.id}
            class={classes.join(' ')}
            transform={`translate(${x},${y})`}
            tabIndex={0}
            role="img"
            aria-label={accessibleName(node, topology, labels, closed)}
            data-node={node.label}
            data-kind={node.kind}
            onFocus={() => setHot(node.id)}
            onBlur={() => setHot((current) => (current === node.id ? null : current))}
            onMouseEnter={() => setHot(node.id)}
            onMouseLeave={() => setHot((current) => (current === node.id ? null : current))}
          >
            <title>{node.name}</title>
            <rect width={NODE_W} height={NODE_H} rx={node.kind === 'table' ? 16 : 6} />
            <text x={10} y={19} class="name">
              <tspan class="kind">{node.kind === 'function' ? 'λ ' : node.kind === 'table' ? '▦ ' : '☰ '}</tspan>
              {node.label.length > 24 ? `${node.label.slice(0, 23)}…` : node.label}
            </text>
            {numberLines(node, closed).map((line, index) => (
              <text key={index} x={10} y={36 + index * 15} class="numbers">
                {line.map((part, at) => {
                  const gap = at > 0 ? ' · ' : '';
                  if (typeof part === 'string')
                    return (
                      <tspan key={part} class="word">
                        {gap}
                        {part}
                      </tspan>
                    );
                  return (
                    <tspan key={part.field} class={part.bad ? 'bad' : undefined}>
                      {gap}
                      <tspan data-field={part.field}>{shown(part.value)}</tspan> {part.unit}
                    </tspan>
                  );
                })}
              </text>
            ))}
          </g>
        );
      })}
    </svg>
  );
}

export function Topology({ token, status }: { token: string; status: ApiStatus | null }) {
  const [topology, setTopology] = useState<ApiTopology | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = () =>
      readTopology(token, abort.signal)
        .then(
          (next) => {
            setTopology(next);
            setProblem(null);
          },
          (err: Error) => {
            if (!abort.signal.aborted) setProblem(err instanceof ApiRefused ? err.message : `topology: ${err.message}`);
          },
        )
        .finally(() => {
          if (!abort.signal.aborted) timer = setTimeout(read, TOPOLOGY_EVERY_MS);
        });
    void read();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [token]);

  const closedOf = (node: ApiTopologyNode) =>
    node.kind === 'queue' ? status?.channels.find((channel) => channel.name === node.label)?.closed : undefined;
  const labels = useMemo(() => new Map(topology?.nodes.map((node) => [node.id, node.label]) ?? []), [topology]);
  const functions = topology?.nodes.filter((node) => node.kind === 'function') ?? [];
  const queues = topology?.nodes.filter((node): node is ApiTopologyQueue => node.kind === 'queue') ?? [];

  return (
    <Section id="topology" title="Topology" count={topology?.nodes.length ?? 0}>
      {problem && <p class="bad">{problem}</p>}
      {topology === null ? (
        !problem && <p class="muted">Reading the stack…</p>
      ) : topology.nodes.length === 0 ? (
        <Empty what={`functions, queues or tables in stack ${topology.stackName}`} />
      ) : (
        <>
          <p class="note">
            Stack <span class="mono">{topology.stackName}</span> (its {topology.templateStage.toLowerCase()} CloudFormation template, read{' '}
            {time(topology.templateReadAt)}). Queues: SQS's approximate counts, read {time(topology.readAt)}. Functions: invocations and
            errors in the last {topology.windowMinutes} minutes (CloudWatch AWS/Lambda
            {topology.metricsReadAt === null ? ', not read' : `, read ${time(topology.metricsReadAt)}`}). Tab to a node to follow its edges.
          </p>
          <div class="topology-frame">
            <Graph topology={topology} closedOf={closedOf} />
          </div>
          <ul class="legend" aria-label="Edges">
            {(['trigger', 'sends', 'receives', 'on-failure', 'dead-letter', 'table', 'invokes', 'uses'] as const)
              .filter((kind) => topology.edges.some((edge) => edge.kind === kind || (kind === 'on-failure' && edge.kind === 'on-success')))
              .map((kind) => (
                <li key={kind}>
                  <svg width="34" height="10" aria-hidden="true">
                    <path d="M1,5 L33,5" class={`edge k-${kind}`} />
                  </svg>
                  {kind === 'on-failure' ? 'destination' : kind === 'table' ? 'reads / writes' : kind}
                </li>
              ))}
          </ul>
          {[...topology.problems, ...topology.notes].map((text) => (
            <p key={text} class={topology.problems.includes(text) ? 'bad' : 'note'}>
              {text}
            </p>
          ))}
          <table class="topology-functions">
            <caption>Functions</caption>
            <thead>
              <tr>
                <th scope="col">function</th>
                <th scope="col" class="num">
                  invocations
                </th>
                <th scope="col" class="num">
                  errors
                </th>
                <th scope="col">triggered by</th>
                <th scope="col">sends to</th>
                <th scope="col">table</th>
              </tr>
            </thead>
            <tbody>
              {functions.map((node) => (
                <tr key={node.id} data-function={node.label}>
                  <th scope="row">{node.label}</th>
                  <td class="num" data-field="invocations">
                    {node.kind === 'function' ? shown(node.invocations) : ''}
                  </td>
                  <td class={`num${node.kind === 'function' && node.errors ? ' bad' : ''}`} data-field="errors">
                    {node.kind === 'function' ? shown(node.errors) : ''}
                  </td>
                  <td>{connected(topology, labels, node.id, 'to', ['trigger', 'receives'])}</td>
                  <td>{connected(topology, labels, node.id, 'from', ['sends', 'on-failure', 'on-success', 'invokes', 'uses'])}</td>
                  <td>{connected(topology, labels, node.id, 'from', ['table'])}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <table class="topology-queues">
            <caption>Queues</caption>
            <thead>
              <tr>
                <th scope="col">queue</th>
                <th scope="col" class="num">
                  queued
                </th>
                <th scope="col" class="num">
                  in flight
                </th>
                <th scope="col" class="num">
                  dead letters
                </th>
                <th scope="col">state</th>
                <th scope="col">consumed by</th>
                <th scope="col">dead-letter queue</th>
              </tr>
            </thead>
            <tbody>
              {queues.map((node) => (
                <tr key={node.id} data-queue={node.label}>
                  <th scope="row">{node.label}</th>
                  <td class="num" data-field="queued">
                    {shown(node.queued)}
                  </td>
                  <td class="num" data-field="inFlight">
                    {shown(node.inFlight)}
                  </td>
                  <td class={`num${node.deadLetters ? ' bad' : ''}`} data-field="deadLetters">
                    {node.deadLetterQueue ? shown(node.deadLetters) : '–'}
                  </td>
                  <td>{node.isDeadLetterQueue ? 'dead-letter queue' : closedOf(node) ? <span class="badge">closed</span> : 'open'}</td>
                  <td>{connected(topology, labels, node.id, 'from', ['trigger', 'receives'])}</td>
                  <td>{node.deadLetterQueue ? labels.get(node.deadLetterQueue) : '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Section>
  );
}
