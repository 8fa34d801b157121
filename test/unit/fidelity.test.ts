/**
 * The pure parts of `npm run fidelity` (infra/localstack/fidelity): reading pytest's junit reports,
 * the suites and the Lambda selection, and docs/FIDELITY.md agreeing with docs/fidelity/results.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../infra/localstack/localstack.ts';
import {
  LAMBDA_NODEJS_SELECTION,
  SUITES,
  countOutcomes,
  nodeIdOf,
  parseJunit,
  pytestArguments,
  selectSuites,
} from '../../infra/localstack/fidelity/suites.ts';

const REPORT = `<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="4">
<testcase classname="tests.aws.services.sqs.test_sqs.TestSqsProvider" name="test_list_queues[sqs]" time="0.512" />
<testcase classname="tests.aws.services.lambda_.test_lambda_common.TestLambdaRuntimesCommon" name="test_introspection_invoke[nodejs22.x]" time="3.1"><failure message="&gt;&gt; match key: invocation_result_payload&#10;&#09;#x1B[33m(~)#x1B[0m /environment/LANG 'en_US.UTF-8' → &quot;C&quot; &amp; more">details</failure></testcase>
<testcase classname="tests.aws.services.lambda_.test_lambda.TestLambdaURL" name="test_lambda_url_echo_invoke[RESPONSE_STREAM]" time="0.001"><skipped type="pytest.skip" message="not implemented on LS yet">skipped text</skipped></testcase>
<testcase classname="tests.aws.services.dynamodb.test_dynamodb.TestDynamoDB" name="test_batch_write" time="1.0" />
<testcase classname="tests.aws.services.dynamodb.test_dynamodb.TestDynamoDB" name="test_batch_write" time="0.2"><error message="failed on teardown with &quot;SnapshotAssertionError&quot;">trace</error></testcase>
<testcase classname="tests.aws.services.sqs.test_sqs" name="test_module_level" time="0.3"><error>Traceback
first real line</error></testcase>
</testsuite></testsuites>`;

describe('fidelity: junit reports', () => {
  const results = parseJunit(REPORT);
  const byId = (id: string) => results.find((result) => result.id === id);

  it('names tests by their pytest node id', () => {
    expect(nodeIdOf('tests.aws.services.sqs.test_sqs.TestSqsProvider', 'test_x[a.b]')).toBe(
      'tests/aws/services/sqs/test_sqs.py::TestSqsProvider::test_x[a.b]',
    );
    expect(nodeIdOf('tests.aws.services.sqs.test_sqs', 'test_y')).toBe('tests/aws/services/sqs/test_sqs.py::test_y');
    expect(nodeIdOf('tests.aws.services.lambda_.event_source_mapping.test_lambda_integration_sqs', 'test_z')).toBe(
      'tests/aws/services/lambda_/event_source_mapping/test_lambda_integration_sqs.py::test_z',
    );
  });

  it('reads passes, failures (with their gist), skips and errors', () => {
    expect(byId('tests/aws/services/sqs/test_sqs.py::TestSqsProvider::test_list_queues[sqs]')).toEqual({
      id: 'tests/aws/services/sqs/test_sqs.py::TestSqsProvider::test_list_queues[sqs]',
      outcome: 'passed',
      seconds: 0.512,
    });
    expect(
      byId('tests/aws/services/lambda_/test_lambda_common.py::TestLambdaRuntimesCommon::test_introspection_invoke[nodejs22.x]'),
    ).toMatchObject({
      outcome: 'failed',
      message: `>> match key: invocation_result_payload | (~) /environment/LANG 'en_US.UTF-8' → "C" & more`,
    });
    expect(byId('tests/aws/services/lambda_/test_lambda.py::TestLambdaURL::test_lambda_url_echo_invoke[RESPONSE_STREAM]')).toMatchObject({
      outcome: 'skipped',
      message: 'not implemented on LS yet',
    });
    expect(byId('tests/aws/services/sqs/test_sqs.py::test_module_level')).toMatchObject({
      outcome: 'failed',
      message: 'Traceback | first real line',
    });
  });

  it('counts a test whose teardown failed (a snapshot mismatch) as failed, once', () => {
    const matching = results.filter((result) => result.id.endsWith('::test_batch_write'));

    expect(matching).toHaveLength(1);
    expect(matching[0]).toMatchObject({ outcome: 'failed', message: 'failed on teardown with "SnapshotAssertionError"' });
  });

  it('counts the outcomes', () => {
    expect(countOutcomes(results)).toEqual({ total: 5, passed: 1, failed: 3, skipped: 1 });
  });
});

describe('fidelity: suites', () => {
  it('selects all suites by default, some by name, and refuses unknown names', () => {
    expect(selectSuites([])).toEqual(SUITES);
    expect(selectSuites(['dynamodb', 'sqs']).map((suite) => suite.name)).toEqual(['sqs', 'dynamodb']);
    expect(() => selectSuites(['sqs', 'kinesis'])).toThrow(/unknown suite kinesis/);
  });

  it('runs only the AWS-validated tests, with a junit report, and the Node.js ports only where asked', () => {
    const [sqs, sqsEsm] = selectSuites(['sqs', 'sqs-esm']);

    expect(pytestArguments(sqs!, '/out/sqs.xml')).toEqual(
      expect.arrayContaining([
        'tests/aws/services/sqs',
        '-m',
        'aws_validated and not requires_in_process',
        '--offline',
        '--junitxml=/out/sqs.xml',
      ]),
    );
    expect(pytestArguments(sqs!, '/out/sqs.xml')).not.toContain('fnmesh_node_ports');
    expect(pytestArguments(sqsEsm!, '/out/esm.xml').join(' ')).toContain('-p fnmesh_node_ports');
  });

  it('selects the Lambda tests as distinct node ids, all on Node.js functions', () => {
    expect(new Set(LAMBDA_NODEJS_SELECTION).size).toBe(LAMBDA_NODEJS_SELECTION.length);
    expect(LAMBDA_NODEJS_SELECTION).toHaveLength(45);
    for (const id of LAMBDA_NODEJS_SELECTION) {
      expect(id).toMatch(/^tests\/aws\/services\/lambda_\/test_lambda(_common|_runtimes)?\.py::Test\w+::test_\w+(\[[\w.-]+\])?$/);
      if (!id.includes('/test_lambda.py::')) expect(id).toMatch(/\[nodejs\d+\.x\]$/);
    }
  });
});

describe('fidelity: docs/FIDELITY.md', () => {
  const resultsFile = join(projectRoot, 'docs', 'fidelity', 'results.json');
  const page = readFileSync(join(projectRoot, 'docs', 'FIDELITY.md'), 'utf8');
  const recorded = existsSync(resultsFile)
    ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as {
        suites: Record<string, { counts: Record<string, number>; results: { id: string; outcome: string }[] }>;
      })
    : undefined;

  it('has results to report', () => expect(recorded).toBeDefined());

  it.each(SUITES.map((suite) => suite.name))('shows the recorded counts of the %s suite', (name) => {
    const counts = recorded!.suites[name]?.counts;
    expect(counts, `docs/fidelity/results.json has no ${name} suite`).toBeDefined();
    const row = new RegExp(
      `^\\| \`${name}\` \\|[^\\n]*\\| ${counts!.total} \\| ${counts!.passed} \\| ${counts!.failed} \\| ${counts!.skipped} \\|`,
      'm',
    );
    expect(page).toMatch(row);
  });

  it('lists every recorded failure with its cause', () => {
    const failures = Object.values(recorded!.suites).flatMap((suite) => suite.results.filter((result) => result.outcome === 'failed'));
    for (const failure of failures)
      expect(page, `docs/FIDELITY.md does not list ${failure.id}`).toContain(`\`${failure.id.split('/').pop()}\``);
  });
});
