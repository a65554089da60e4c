// The layout of one traced call as the ranks ship it to orchidrun (--trace, --profile,
// --live): FIELDS doubles per call in a Float64Array, times in ms of the rank's own
// performance.now() (the launcher adds the rank's timeOrigin and clock offset). Shared by the
// recorder (comm/trace.ts) and the launcher's collector (launcher/trace-collect.ts).

export const FIELDS = 8;
/** field offsets within one call's record */
export const F_CALL = 0; // index into the rank's call names
export const F_T0 = 1; // start, ms (performance.now())
export const F_T1 = 2; // end
export const F_PEER = 3; // world rank of the destination, source or root; -1: none
export const F_TAG = 4; // -1: none
export const F_BYTES = 5; // payload bytes; -1: not known (a value that is not a typed array)
export const F_COMM = 6; // index into the rank's communicators
export const F_FLAGS = 7;

/** flags */
export const SEND = 1; // a message left this rank to F_PEER
export const RECV = 2; // a message from F_PEER was received
export const FAILED = 4; // the call rejected
export const HALF = 8; // the send half of sendrecv: its bytes count, the call is counted by its receive

/** A communicator as the trace names it: `0` is the world, `0.2` the third split/dup of it. */
export interface TraceComm {
  id: string;
  size: number;
  /** world rank of each of its ranks */
  world: number[];
}

/** What ORCHID_TRACE asks a rank to record (a comma list of these words). */
export interface TraceModes {
  events: boolean;
  profile: boolean;
  live: boolean;
}

export function parseTraceModes(text: string | undefined): TraceModes | undefined {
  if (!text) return undefined;
  const words = text.split(',').map((w) => w.trim()).filter(Boolean);
  const m: TraceModes = { events: words.includes('events'), profile: words.includes('profile'), live: words.includes('live') };
  return m.events || m.profile || m.live ? m : undefined;
}
