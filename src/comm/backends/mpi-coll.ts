// What the mpi backend's collectives see of their communicator, and the codes they hand the
// addon: element types for MPI datatypes (the codec's element codes; BYTE for raw bytes) and
// the builtin reduction ops in the addon's order.
import { ELEM, MPI_BYTES, REDUCE_OPS } from '../../codec/abi.js';
import type { AddonCollectives } from '../../transport/mpi/addon.js';

export const I32 = ELEM.Int32Array;
export const F64 = ELEM.Float64Array;
export const BYTE = MPI_BYTES;
export const OPS: readonly string[] = REDUCE_OPS.map((o) => o.name);
/** the arguments of an addon collective after its communicator */
export type CollArgs<K extends keyof AddonCollectives> = AddonCollectives[K] extends (comm: number, ...rest: infer A) => number ? A : never;
/** received messages and collective results from this size on come from (or go back to) the
 *  addon's pool and always pass through one event-loop turn (see MpiBackend.recv, typedReduce) */
export const LARGE_YIELD = 64 * 1024;

export interface MpiColl {
  readonly rank: number;
  readonly size: number;
  /** one collective of the addon on this communicator; resolves when MPI is done */
  coll<K extends keyof AddonCollectives>(name: K, ...args: CollArgs<K>): Promise<void>;
  /** an ArrayBuffer of `bytes` from the addon's pool of recycled buffers (content undefined) */
  alloc(bytes: number): ArrayBuffer;
}
