/**
 * fnmesh's error hierarchy: every error the library or its functions raise on purpose is a
 * `MeshError`, with a stable `name` and the data a caller needs to act on it.
 *
 * Names are spelled out rather than taken from the constructor, so they survive minifiers and
 * travel intact in Lambda error payloads (`errorType`).
 */
export class MeshError extends Error {
  override name: string = 'MeshError';
}

/** An event or message that does not have the shape a function expects. */
export class InvalidInputError extends MeshError {
  override name = 'InvalidInputError';
  /** Where in the input the problem is, e.g. `event.message`. */
  readonly path: string;

  constructor(path: string, problem: string, options?: ErrorOptions) {
    super(`invalid input at ${path}: ${problem}`, options);
    this.path = path;
  }
}

/** A configuration value (option, environment variable) that is missing or wrong. */
export class MeshConfigError extends MeshError {
  override name = 'MeshConfigError';
}
