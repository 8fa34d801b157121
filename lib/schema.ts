/**
 * Runtime types. fnmesh validates values with any schema library that implements the Standard
 * Schema interface (https://standardschema.dev) — zod 4, valibot, arktype and others do — without
 * depending on one: a channel's messages and an RPC method's arguments are typed at run time, not
 * only at compile time.
 */

/** The part of the Standard Schema v1 interface fnmesh uses. */
export interface Schema<Output = unknown> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => SchemaResult<Output> | Promise<SchemaResult<Output>>;
    readonly types?: { readonly input: unknown; readonly output: Output } | undefined;
  };
}

export type SchemaResult<Output> = { readonly value: Output; readonly issues?: undefined } | { readonly issues: readonly SchemaIssue[] };

export interface SchemaIssue {
  readonly message: string;
  readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined;
}

/** The output type of a schema. */
export type Infer<S> = S extends Schema<infer Output> ? Output : never;

/** An issue as fnmesh reports it: a dotted path (`a.b.0`) and a message. */
export interface Issue {
  path: string;
  message: string;
}

function pathOf(issue: SchemaIssue): string {
  return (issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment)).join('.');
}

/** Validates `value`: the typed value, or the issues found. */
export async function check<Output>(
  schema: Schema<Output>,
  value: unknown,
): Promise<{ ok: true; value: Output } | { ok: false; issues: Issue[] }> {
  const result = await schema['~standard'].validate(value);
  if (result.issues) return { ok: false, issues: result.issues.map((issue) => ({ path: pathOf(issue), message: issue.message })) };
  return { ok: true, value: result.value };
}

/** Describes issues in one line, e.g. `a: expected number; b: required`. */
export function describeIssues(issues: readonly Issue[]): string {
  return issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ');
}
