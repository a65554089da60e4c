/// <reference types="node" preserve="true" />
// orchid-mpi: the public API (README.md, "API at a glance").
export { init, type InitOptions } from './rank/init.js';
export { Comm, type Message, type Status, type ScatterOptions } from './comm/comm.js';
export { Request, waitAll, waitAny } from './comm/request.js';
export { ANY_SOURCE, ANY_TAG } from './comm/wildcards.js';
export { OrchidError, isOrchidError, type ErrorCode } from './errors.js';
export type { Op, OpName } from './comm/ops.js';
export type { TypedArray } from './codec/typed.js';
export { wtime, wtick } from './rank/clock.js';
