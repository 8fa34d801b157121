/**
 * The order vitest hands files to its workers: its own (by project; within one, the files that
 * failed or took longest last time first, else the largest), except that the files that need the
 * deployed stack alone (`stack-alone`, test/helpers/stack.ts) are spread out among the files that
 * need no stack. Their turns come while the other workers run files the stack does not concern,
 * apart from each other and before the files that share the stack begin. (Run after those, each
 * waited for every sharer to finish, and then ran on a machine with little else left to do.)
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

export const ALONE_PROJECT = 'stack-alone';
/** The project of the files that need no stack, among which the stack-alone files are spread. */
const AMONG_PROJECT = 'integration';

export default class Sequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const alone = sorted.filter((file) => file.project.name === ALONE_PROJECT);
    const rest = sorted.filter((file) => file.project.name !== ALONE_PROJECT);
    const among = rest.filter((file) => file.project.name === AMONG_PROJECT);
    if (alone.length === 0 || among.length === 0) return sorted;
    // The k-th of n stack-alone files goes after the (k/(n+1))-th part of the files that need no stack.
    const after = alone.map((_, k) => among[Math.floor(((k + 1) * among.length) / (alone.length + 1)) - 1] ?? among[0]!);
    return rest.flatMap((file) => [file, ...alone.filter((_, k) => after[k] === file)]);
  }
}
