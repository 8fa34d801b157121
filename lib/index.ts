export { InvalidInputError, MeshConfigError, MeshError } from './errors.ts';
