import { MeshConfigError } from 'fnmesh';

/** A required environment variable (set by serverless.yml); a clear error when it is missing. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new MeshConfigError(`environment variable ${name} is not set (see serverless.yml)`);
  return value;
}
