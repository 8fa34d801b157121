/**
 * fnmesh's error hierarchy: every error the library or its functions raise on purpose is a
 * `MeshError`, with a stable `name` and the data a caller needs to act on it.
 */
export class MeshError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An event or message that does not have the shape a function expects. */
export class InvalidInputError extends MeshError {
  /** Where in the input the problem is, e.g. `body.id`. */
  readonly path: string;

  constructor(path: string, problem: string, options?: ErrorOptions) {
    super(`invalid input at ${path}: ${problem}`, options);
    this.path = path;
  }
}

/** A configuration value (option, environment variable) that is missing or wrong. */
export class MeshConfigError extends MeshError {}
