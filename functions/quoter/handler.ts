/** quoter: the RPC server of the seed's `net/rpc` example (`Quoter.Multiply`). */
import { RpcServer } from 'fnmesh';
import { tracer } from '../shared/clients.ts';
import { withMesh } from '../shared/withMesh.ts';
import { quoterMethods } from './methods.ts';

const server = new RpcServer(quoterMethods);

export const handler = withMesh(server.handler, { tracer });
