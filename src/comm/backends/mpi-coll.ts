// What the mpi backend's collectives see of their communicator, and the codes they hand the
// addon: element types for MPI datatypes (the codec's element codes; BYTE for raw bytes) and
// the builtin reduction ops in the addon's order.
export const I32 = 6;
export const F64 = 9;
export const BYTE = 100;
export const OPS = ['sum', 'prod', 'min', 'max', 'land', 'lor', 'lxor', 'band', 'bor', 'bxor'];
/** received messages and collective results from this size on come from (or go back to) the
 *  addon's pool and always pass through one event-loop turn (see MpiBackend.recv, typedReduce) */
export const LARGE_YIELD = 64 * 1024;

export interface MpiColl {
  readonly rank: number;
  readonly size: number;
  /** one collective of the addon on this communicator; resolves when MPI is done */
  coll(name: string, ...args: unknown[]): Promise<void>;
  /** an ArrayBuffer of `bytes` from the addon's pool of recycled buffers (content undefined) */
  alloc(bytes: number): ArrayBuffer;
}
