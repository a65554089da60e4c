/// <reference types="node" preserve="true" />
// orchid-mpi: the public API (README.md, "API at a glance").
export { init, type InitOptions } from './rank/init.js';
export { Comm, type Message, type Status, type ScatterOptions } from './comm/comm.js';
export { Request, waitAll, waitAny } from './comm/request.js';
export { ANY_SOURCE, ANY_TAG } from './comm/wildcards.js';
export { OrchidError, isOrchidError, type ErrorCode } from './errors.js';
export { Group, type GroupCompare, type RankRange } from './comm/group.js';
export { CartComm, type Shift } from './comm/cart.js';
export { dimsCreate } from './comm/dims.js';
export { registerClass, type ClassCodec } from './codec/index.js';
export { isInitialized, isFinalized } from './rank/lifecycle.js';
export type { Op, OpName } from './comm/ops.js';
export type { TypedArray } from './codec/typed.js';
