/// <reference types="node" preserve="true" />
// orchid-mpi: the public API (README.md, "API at a glance").
export { init, type InitOptions } from './rank/init.js';
export { Comm, type Message, type Status, type ScatterOptions } from './comm/comm.js';
export { Request, waitAll, waitAny, testAll, testAny, waitSome, type RequestValue } from './comm/request.js';
export { ANY_SOURCE, ANY_TAG } from './comm/wildcards.js';
export { OrchidError, isOrchidError, type ErrorCode } from './errors.js';
export type { Op, OpName, OpFn, OpObject, LocOpName } from './comm/ops.js';
export type { LocArrays, LocPair } from './comm/loc-ops.js';
export type { VSpec } from './comm/v-collectives.js';
export { Group, type GroupCompare, type RankRange } from './comm/group.js';
export { CartComm, type Shift } from './comm/cart.js';
export { dimsCreate } from './comm/dims.js';
export { registerClass, type ClassCodec } from './codec/index.js';
export { isInitialized, isFinalized } from './rank/lifecycle.js';
export type { TypedArray } from './codec/typed.js';
export { wtime, wtick } from './rank/clock.js';
