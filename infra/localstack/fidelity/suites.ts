/**
 * What `npm run fidelity` measures: LocalStack's AWS-validated test suites (pytest, run from a
 * checkout of LocalStack's repository at the 2026.3 line) that cover the services fnmesh relies on.
 * Pure data and helpers, unit-tested in test/unit/fidelity.test.ts.
 */

export interface Suite {
  /** Short name for `--suite` and the results file. */
  name: string;
  title: string;
  /** pytest arguments: test files, directories or node ids, relative to the checkout. */
  tests: readonly string[];
  /** Deploy fnmesh's Node.js ports in place of the suite's Python handlers (fnmesh_node_ports.py). */
  nodePorts?: boolean;
  /** Measured for information (work in progress elsewhere), not part of the acceptance numbers. */
  informational?: boolean;
}

const LAMBDA = 'tests/aws/services/lambda_';

/**
 * The Lambda tests whose functions run on Node.js: every Node.js case of the runtime suites
 * (`-k nodejs` on test_lambda_common.py and test_lambda_runtimes.py), plus the tests of
 * test_lambda.py that deploy a Node.js function (function URLs including response streaming,
 * invocation types, context, the Node.js code cache). Node ids, so the selection cannot drift.
 */
export const LAMBDA_NODEJS_SELECTION: readonly string[] = [
  'test_lambda_common.py::TestLambdaRuntimesCommon::test_echo_invoke[nodejs24.x]',
  'test_lambda_common.py::TestLambdaRuntimesCommon::test_echo_invoke[nodejs22.x]',
  'test_lambda_common.py::TestLambdaRuntimesCommon::test_echo_invoke[nodejs20.x]',
  'test_lambda_common.py::TestLambdaRuntimesCommon::test_echo_invoke[nodejs18.x]',
  'test_lambda_common.py::TestLambdaRuntimesCommon::test_echo_invoke[nodejs16.x]',
  'test_lambda_common.py::TestLambdaRuntimesCommon::test_introspection_invoke[nodejs24.x]',
  'test_lambda_common.py::TestLambdaRuntimesCommon::test_introspection_invoke[nodejs22.x]',
  'test_lambda_common.py::TestLambdaRuntimesCommon::test_introspection_invoke[nodejs20.x]',
  'test_lambda_common.py::TestLambdaRuntimesCommon::test_introspection_invoke[nodejs18.x]',
  'test_lambda_common.py::TestLambdaRuntimesCommon::test_introspection_invoke[nodejs16.x]',
  'test_lambda_common.py::TestLambdaRuntimesCommon::test_uncaught_exception_invoke[nodejs24.x]',
  'test_lambda_common.py::TestLambdaRuntimesCommon::test_uncaught_exception_invoke[nodejs22.x]',
  'test_lambda_common.py::TestLambdaRuntimesCommon::test_uncaught_exception_invoke[nodejs20.x]',
  'test_lambda_common.py::TestLambdaRuntimesCommon::test_uncaught_exception_invoke[nodejs18.x]',
  'test_lambda_common.py::TestLambdaRuntimesCommon::test_uncaught_exception_invoke[nodejs16.x]',
  'test_lambda_common.py::TestLambdaRuntimesCommon::test_runtime_wrapper_invoke[nodejs18.x]',
  'test_lambda_common.py::TestLambdaRuntimesCommon::test_runtime_wrapper_invoke[nodejs20.x]',
  'test_lambda_common.py::TestLambdaRuntimesCommon::test_runtime_wrapper_invoke[nodejs24.x]',
  'test_lambda_common.py::TestLambdaRuntimesCommon::test_runtime_wrapper_invoke[nodejs22.x]',
  'test_lambda_common.py::TestLambdaRuntimesCommon::test_runtime_wrapper_invoke[nodejs16.x]',
  'test_lambda_common.py::TestLambdaCallingLocalstack::test_manual_endpoint_injection[nodejs18.x]',
  'test_lambda_common.py::TestLambdaCallingLocalstack::test_manual_endpoint_injection[nodejs20.x]',
  'test_lambda_common.py::TestLambdaCallingLocalstack::test_manual_endpoint_injection[nodejs24.x]',
  'test_lambda_common.py::TestLambdaCallingLocalstack::test_manual_endpoint_injection[nodejs22.x]',
  'test_lambda_common.py::TestLambdaCallingLocalstack::test_manual_endpoint_injection[nodejs16.x]',
  'test_lambda_runtimes.py::TestNodeJSRuntimes::test_invoke_nodejs_es6_lambda[nodejs24.x]',
  'test_lambda_runtimes.py::TestNodeJSRuntimes::test_invoke_nodejs_es6_lambda[nodejs22.x]',
  'test_lambda_runtimes.py::TestNodeJSRuntimes::test_invoke_nodejs_es6_lambda[nodejs20.x]',
  'test_lambda_runtimes.py::TestNodeJSRuntimes::test_invoke_nodejs_es6_lambda[nodejs18.x]',
  'test_lambda_runtimes.py::TestNodeJSRuntimes::test_invoke_nodejs_es6_lambda[nodejs16.x]',
  'test_lambda.py::TestLambdaBehavior::test_lambda_cache_local[nodejs]',
  'test_lambda.py::TestLambdaURL::test_function_url_with_response_streaming',
  'test_lambda.py::TestLambdaURL::test_lambda_url_echo_invoke[None]',
  'test_lambda.py::TestLambdaURL::test_lambda_url_echo_invoke[BUFFERED]',
  'test_lambda.py::TestLambdaURL::test_lambda_url_echo_invoke[RESPONSE_STREAM]',
  'test_lambda.py::TestLambdaURL::test_lambda_update_function_url_config',
  'test_lambda.py::TestLambdaURL::test_lambda_url_persists_after_alias_delete',
  'test_lambda.py::TestLambdaPermissions::test_lambda_permission_url_invocation',
  'test_lambda.py::TestLambdaFeatures::test_invocation_with_logs[nodejs16.x]',
  'test_lambda.py::TestLambdaFeatures::test_invocation_type_request_response[nodejs16.x]',
  'test_lambda.py::TestLambdaFeatures::test_invocation_type_event[nodejs16.x]',
  'test_lambda.py::TestLambdaFeatures::test_invocation_type_no_return_payload[nodejs-RequestResponse]',
  'test_lambda.py::TestLambdaFeatures::test_invocation_type_no_return_payload[nodejs-Event]',
  'test_lambda.py::TestLambdaFeatures::test_invocation_type_dry_run[nodejs16.x]',
  'test_lambda.py::TestLambdaFeatures::test_lambda_with_context',
].map((id) => `${LAMBDA}/${id}`);

export const SUITES: readonly Suite[] = [
  { name: 'sqs', title: 'SQS', tests: ['tests/aws/services/sqs'] },
  {
    name: 'sqs-esm',
    title: 'SQS event-source mappings (Node.js ports of the handlers)',
    tests: [`${LAMBDA}/event_source_mapping/test_lambda_integration_sqs.py`],
    nodePorts: true,
  },
  { name: 'dynamodb', title: 'DynamoDB', tests: ['tests/aws/services/dynamodb/test_dynamodb.py'] },
  { name: 'lambda-nodejs', title: 'Lambda, Node.js runtimes', tests: LAMBDA_NODEJS_SELECTION },
  {
    name: 'dynamodbstreams',
    title: 'DynamoDB Streams',
    tests: ['tests/aws/services/dynamodbstreams/test_dynamodb_streams.py'],
    informational: true,
  },
  {
    name: 'dynamodbstreams-esm',
    title: 'DynamoDB Streams event-source mappings (Node.js ports of the handlers)',
    tests: [`${LAMBDA}/event_source_mapping/test_lambda_integration_dynamodbstreams.py`],
    nodePorts: true,
    informational: true,
  },
];

/** The suites named (all of them if none), in SUITES order. @throws on an unknown name */
export function selectSuites(names: readonly string[]): Suite[] {
  const unknown = names.filter((name) => !SUITES.some((suite) => suite.name === name));
  if (unknown.length) throw new Error(`unknown suite ${unknown.join(', ')} (known: ${SUITES.map((suite) => suite.name).join(', ')})`);
  return SUITES.filter((suite) => names.length === 0 || names.includes(suite.name));
}

/**
 * Which tests count: those LocalStack's authors validated against AWS, minus those LocalStack itself
 * marks as unable to run against a separately started LocalStack (they patch its configuration in
 * the test process).
 */
export const MARKERS = 'aws_validated and not requires_in_process';

/**
 * The pytest command line (after `python -m pytest`) for one suite. `--offline` is LocalStack's
 * own switch for a machine without internet access: it skips the tests marked as needing it.
 */
export function pytestArguments(suite: Suite, junitFile: string): string[] {
  return [
    ...suite.tests,
    '-m',
    MARKERS,
    '--offline',
    '-p',
    'no:tinybird',
    '-p',
    'no:cacheprovider',
    '-p',
    'fnmesh_endpoint',
    ...(suite.nodePorts ? ['-p', 'fnmesh_node_ports'] : []),
    '-q',
    '-rfEs',
    `--junitxml=${junitFile}`,
  ];
}

// --- results ----------------------------------------------------------------------------------------

export type Outcome = 'passed' | 'failed' | 'skipped';

export interface TestResult {
  /** pytest-style id: `tests/.../test_x.py::TestClass::test_name[param]`. */
  id: string;
  outcome: Outcome;
  /** For a failure or skip: the first line of pytest's message. */
  message?: string;
  seconds: number;
}

export interface Counts {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
    return ENTITIES[entity] ?? whole;
  });
}

function attributes(tag: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const match of tag.matchAll(/([\w:-]+)="([^"]*)"/g)) found[match[1]!] = unescapeXml(match[2]!);
  return found;
}

/**
 * `tests.aws.services.sqs.test_sqs.TestSqsProvider` + `test_x[a]` →
 * `tests/aws/services/sqs/test_sqs.py::TestSqsProvider::test_x[a]` (the module is the last dotted
 * part starting with `test_`; classes start with `Test`).
 */
export function nodeIdOf(classname: string, name: string): string {
  const parts = classname.split('.');
  let module = -1;
  parts.forEach((part, index) => {
    if (part.startsWith('test_')) module = index;
  });
  if (module < 0) return [classname, name].join('::');
  return [`${parts.slice(0, module + 1).join('/')}.py`, ...parts.slice(module + 1), name].join('::');
}

/** The gist of a pytest message: its first three lines, colour codes removed, at most 300 characters. */
function gist(text: string | undefined): string | undefined {
  const lines = (text ?? '')
    .replace(/(\u001b|#x1B)\[[0-9;]*m/g, '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.length ? lines.slice(0, 3).join(' | ').slice(0, 300) : undefined;
}

/** pytest's message attribute, unless it is missing or cut short ("full report in element text"). */
const chooseMessage = (message: string | undefined, text: string) =>
  message && !message.includes('full report in element text') ? message : text;

/**
 * The tests of a pytest junit XML report. A test counts as failed if it has a `<failure>` or an
 * `<error>` (LocalStack's snapshot comparison fails in teardown, which pytest reports as an error),
 * as skipped if it only has `<skipped>`, as passed otherwise.
 */
export function parseJunit(xml: string): TestResult[] {
  const results = new Map<string, TestResult>();
  for (const match of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const attrs = attributes(match[1]!);
    const body = match[3] ?? '';
    const id = nodeIdOf(attrs.classname ?? '', attrs.name ?? '');
    const problem = /<(failure|error)\b([^>]*?)(?:\/>|>([\s\S]*?)<\/\1>)/.exec(body);
    const skipped = /<skipped\b([^>]*?)(?:\/>|>([\s\S]*?)<\/skipped>)/.exec(body);
    const result: TestResult = { id, outcome: 'passed', seconds: Number(attrs.time ?? 0) };
    if (problem) {
      result.outcome = 'failed';
      const message = gist(chooseMessage(attributes(problem[2]!).message, unescapeXml(problem[3] ?? '')));
      if (message) result.message = message;
    } else if (skipped) {
      result.outcome = 'skipped';
      const message = gist(chooseMessage(attributes(skipped[1]!).message, unescapeXml(skipped[2] ?? '')));
      if (message) result.message = message;
    }
    // pytest writes a second <testcase> for a test whose teardown failed: the failure wins.
    if (results.get(id)?.outcome !== 'failed') results.set(id, result);
  }
  return [...results.values()];
}

export function countOutcomes(results: readonly TestResult[]): Counts {
  const count = (outcome: Outcome) => results.filter((result) => result.outcome === outcome).length;
  return { total: results.length, passed: count('passed'), failed: count('failed'), skipped: count('skipped') };
}
