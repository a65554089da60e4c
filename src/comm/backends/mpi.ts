// The mpi transport's CommBackend, over the native addon (src/transport/mpi/). libmpi does
// the matching (MPI_Improbe/MPI_Imrecv for receives of unknown size) and the collectives
// (MPI_Ibcast, Igatherv, Iscatterv, Iallgatherv, Ialltoallv, Comm_split, Comm_split_type).
// This file holds the object side: values travel as msgpackr bytes, sizes first, then the
// v-variant. The buffer side, reductions that MPI's own ops do on typed arrays and numbers
// (Iallreduce, Ireduce, Iscan, Iexscan), is mpi-typed.ts. Typed arrays go to MPI by pointer
// and stay referenced until MPI is done.
import { hostname as osHostname } from 'node:os';
import { decode, elemCode, elemCtor, encode, ELEM_BUFFER, ELEM_NONE, type Packet, type TypedArray } from '../../codec/index.js';
import { errorNumber, OrchidError } from '../../errors.js';
import type { Addon, AddonCollectives } from '../../transport/mpi/addon.js';
import type { MpiProcess } from '../../transport/mpi/process.js';
import type { CommBackend, RawMessage, RawStatus, ReduceCall } from '../comm-backend.js';
import type { Reducer } from '../ops.js';
import { BYTE, F64, I32, LARGE_YIELD, type CollArgs, type MpiColl } from './mpi-coll.js';
import { kindOf, reduceSignature, signature } from '../collectives/signature.js';
import { agree, CHECK, remoteError, tryCheck } from './mpi-agree.js';
import { mpiReduction } from './mpi-typed.js';

const NO_CHECK = () => {};

/**
 * The sizes-first step of a collective: `[bytes, elem]` per packet that `prepare` makes, or,
 * when it throws, the error's code in every slot, so the other ranks fail the call too.
 */
function sizeHeaders(n: number, prepare: () => Packet[]): { pkts?: Packet[]; err?: unknown; hdr: Int32Array } {
  const hdr = new Int32Array(2 * n);
  try {
    const pkts = prepare();
    pkts.forEach((p, i) => ((hdr[2 * i] = p.bytes.length), (hdr[2 * i + 1] = p.elem)));
    return { pkts, hdr };
  } catch (err) {
    hdr.fill(errorNumber(err));
    return { err, hdr };
  }
}


const u8 = (ab: ArrayBuffer, off = 0, len = ab.byteLength - off) => Buffer.from(ab, off, len);
const EMPTY = Buffer.alloc(0);

function packetOf(elem: number, ab: ArrayBuffer): Packet {
  return { elem, bytes: u8(ab) };
}

/** A received message: its payload, or the bytes written into recvInto's memory. */
function rawOf(source: number, tag: number, elem: number, payload: ArrayBuffer | number): RawMessage {
  if (typeof payload === 'number') return { source, tag, packet: { elem, bytes: EMPTY }, written: payload };
  return { source, tag, packet: packetOf(elem, payload) };
}

/** A receive's completion from the addon's progress thread: [src, tag, elem, ArrayBuffer | bytes written]. */
const rawMessage = (m: [number, number, number, ArrayBuffer | number]): RawMessage => rawOf(m[0], m[1], m[2], m[3]);

export class MpiBackend implements CommBackend, MpiColl {
  readonly rank: number;
  readonly size: number;
  readonly hostname: string;
  readonly tagUb: number;
  private queue: Promise<unknown> = Promise.resolve();
  /** collectives started and not settled on this communicator */
  private inFlight = 0;
  /** collective calls made on this communicator (for error messages) */
  private seq = 0;

  /** the world rank of each member: the world's own ranks unless given (split() knows them) */
  members: readonly number[];

  constructor(
    readonly proc: MpiProcess,
    readonly handle: number,
    members?: readonly number[],
  ) {
    const [rank, size] = proc.addon.commInfo(handle);
    this.rank = rank;
    this.size = size;
    this.members = members ?? Array.from({ length: size }, (_, i) => i);
    this.hostname = osHostname();
    this.tagUb = proc.info.tagUb;
  }

  private get a(): Addon {
    return this.proc.addon;
  }

  coll<K extends keyof AddonCollectives>(name: K, ...args: CollArgs<K>): Promise<void> {
    const start = this.a[name] as unknown as (comm: number, ...rest: CollArgs<K>) => number;
    return this.proc.wait<void>(start(this.handle, ...args), args);
  }

  alloc(bytes: number): ArrayBuffer {
    return this.a.alloc(bytes);
  }

  /** Collectives on one communicator start in the same order on every rank (MPI's rule for
   *  nonblocking collectives), so each waits for the previous one here. */
  private serial<T>(body: (seq: number) => Promise<T>): Promise<T> {
    const seq = this.seq++;
    // nothing in flight: start at once (a turn of the microtask queue less per collective)
    const run = this.inFlight === 0 ? body(seq) : this.queue.then(() => body(seq));
    this.inFlight++;
    const done = (): void => {
      this.inFlight--;
    };
    this.queue = run.then(done, done);
    return run;
  }

  // ---- point to point ----

  send(pkt: Packet, dest: number, tag: number): Promise<void> | undefined {
    const r = this.a.isend(this.handle, dest, tag, pkt.elem, pkt.bytes);
    return r === 0 ? undefined : this.proc.wait<void>(r, pkt.bytes);
  }

  recv(source: number, tag: number, _call?: string, into?: TypedArray): RawMessage | Promise<RawMessage> {
    // with `into`, a large payload of its kind that fits is received straight into it and the
    // result carries its byte count instead of a buffer
    const target = into && new Uint8Array(into.buffer, into.byteOffset, into.byteLength);
    const r = this.a.recv(this.handle, source, tag, false, target, target && elemCode(into));
    if (typeof r === 'number') return this.proc.wait<[number, number, number, ArrayBuffer | number]>(r, target).then(rawMessage);
    const st = this.proc.status;
    const m = rawOf(st[0]!, st[1]!, st[2]!, r ?? st[3]!);
    // A large message received at once resolves through the event loop: node frees dropped
    // external buffers (the addon's finalizers) only there, and a loop of receives that never
    // leaves the microtask queue piled them up (1.2 GB for 600 x 4 MiB under Open MPI).
    // Small messages keep the synchronous path.
    if (r !== null && r.byteLength >= LARGE_YIELD) return new Promise((resolve) => setImmediate(resolve, m));
    return m;
  }

  async probe(source: number, tag: number): Promise<RawStatus> {
    const r = this.a.recv(this.handle, source, tag, true);
    if (typeof r !== 'number') return { source: this.proc.status[0]!, tag: this.proc.status[1]!, bytes: this.proc.status[3]! };
    const s = await this.proc.wait<[number, number, number]>(r);
    return { source: s[0], tag: s[1], bytes: s[2] };
  }

  iprobe(source: number, tag: number): RawStatus | undefined {
    const s = this.a.iprobe(this.handle, source, tag);
    return s && { source: s[0], tag: s[1], bytes: s[2] };
  }

  // ---- collectives ----

  // With CHECK (the default) every collective starts with the agreement step (mpi-agree.ts):
  // the ranks agree on the call and on the outcome of its local checks before any other MPI
  // call, so the MPI calls that follow are the same on every rank. An MPI_Allreduce is a
  // barrier too: barrier() is the agreement step alone.

  barrier(): Promise<void> {
    return this.serial(async (seq) => {
      if (CHECK) await agree(this, 'barrier', signature('barrier'), undefined, undefined, seq);
      else await this.coll('barrier');
    });
  }

  bcast(root: number, prepare: () => Packet, check: () => void): Promise<unknown> {
    if (!CHECK) check(); // a bad root cannot be reported through MPI: it fails here, before any MPI call
    return this.serial(async (seq) => {
      if (CHECK) await agree(this, 'bcast', signature('bcast', root), tryCheck(check), undefined, seq);
      const me = this.rank === root;
      const { pkts, err, hdr } = me ? sizeHeaders(1, () => [prepare()]) : { hdr: new Int32Array(2) };
      const pkt = pkts?.[0];
      await this.coll('bcast', hdr, 2, I32, root);
      if (hdr[0]! < 0) throw me ? err : remoteError('bcast', hdr[0]!, root, this.rank);
      if (me) {
        if (hdr[0]! > 0) await this.coll('bcast', pkt!.bytes, hdr[0], BYTE, root);
        return undefined;
      }
      const ab = new ArrayBuffer(hdr[0]!);
      if (hdr[0]! > 0) await this.coll('bcast', ab, hdr[0], BYTE, root);
      return decode(packetOf(hdr[1]!, ab));
    });
  }

  scatter(root: number, prepare: () => Packet[], check: () => void): Promise<unknown> {
    if (!CHECK) check();
    return this.serial(async (seq) => {
      if (CHECK) await agree(this, 'scatter', signature('scatter', root), tryCheck(check), undefined, seq);
      const n = this.size;
      const me = this.rank === root;
      const { pkts, err, hdr: hdrs } = me ? sizeHeaders(n, prepare) : { pkts: undefined, err: undefined, hdr: null };
      const mine = new Int32Array(2);
      await this.coll('scatter', hdrs, 2, mine, I32, root);
      if (mine[0]! < 0) throw me ? err : remoteError('scatter', mine[0]!, root, this.rank);
      let send: Buffer | null = null;
      let counts: Int32Array | null = null;
      let displs: Int32Array | null = null;
      if (me) {
        send = contiguous(pkts!.map((p) => p.bytes));
        counts = Int32Array.from(pkts!, (p) => p.bytes.length);
        displs = offsets(counts);
      }
      const ab = new ArrayBuffer(mine[0]!);
      await this.coll('scatterv', send, counts, displs, ab, mine[0], root);
      return decode(packetOf(mine[1]!, ab));
    });
  }

  gather(value: unknown, root: number, all: boolean, call: string, check: () => void): Promise<unknown[] | undefined> {
    if (!CHECK) check();
    return this.serial(async (seq) => {
      if (CHECK) await agree(this, call, all ? signature(kindOf(call, 'allgather')) : signature(kindOf(call, 'gather'), root), tryCheck(check), undefined, seq);
      return this.gatherPackets(root, () => encode(value, call), all, call);
    });
  }

  /** Sizes first (allgather of [bytes, elem]), then MPI_Allgatherv / Gatherv; inside serial(). */
  private async gatherPackets(root: number, prepare: () => Packet, all: boolean, call: string): Promise<unknown[] | undefined> {
    {
      const n = this.size;
      const { pkts, err, hdr } = sizeHeaders(1, () => [prepare()]);
      const pkt = pkts?.[0];
      const hdrs = new Int32Array(2 * n);
      await this.coll('allgather', hdr, 2, hdrs, I32);
      if (err) throw err;
      for (let i = 0; i < n; i++) if (hdrs[2 * i]! < 0) throw remoteError(call, hdrs[2 * i]!, i, this.rank);
      const counts = Int32Array.from({ length: n }, (_, i) => hdrs[2 * i]!);
      const elems = Array.from({ length: n }, (_, i) => hdrs[2 * i + 1]!);
      const displs = offsets(counts);
      const total = displs[n - 1]! + counts[n - 1]!;
      const getsIt = all || this.rank === root;
      const ab = getsIt ? new ArrayBuffer(total) : null;
      if (all) await this.coll('allgatherv', pkt!.bytes, hdr[0], ab!, counts, displs);
      else await this.coll('gatherv', pkt!.bytes, hdr[0], ab, getsIt ? counts : null, getsIt ? displs : null, root);
      return getsIt ? unpackParts(ab!, counts, displs, elems) : undefined;
    }
  }

  alltoall(parts: readonly unknown[], check: () => void, call = 'alltoall'): Promise<unknown[]> {
    return this.serial(async (seq) => {
      if (CHECK) await agree(this, call, signature(kindOf(call, 'alltoall')), tryCheck(check), undefined, seq);
      const n = this.size;
      const { pkts, err, hdr: hdrs } = sizeHeaders(n, () => {
        check();
        return parts.map((p) => encode(p, call));
      });
      const got = new Int32Array(2 * n);
      await this.coll('alltoall', hdrs, 2, got, I32);
      if (err) throw err;
      for (let i = 0; i < n; i++) if (got[2 * i]! < 0) throw remoteError(call, got[2 * i]!, i, this.rank);
      const scounts = Int32Array.from(pkts!, (p) => p.bytes.length);
      const rcounts = Int32Array.from({ length: n }, (_, i) => got[2 * i]!);
      const rdispls = offsets(rcounts);
      const ab = new ArrayBuffer(rdispls[n - 1]! + rcounts[n - 1]!);
      await this.coll('alltoallv', contiguous(pkts!.map((p) => p.bytes)), scounts, offsets(scounts), ab, rcounts, rdispls);
      return unpackParts(ab, rcounts, rdispls, Array.from({ length: n }, (_, i) => got[2 * i + 1]!));
    });
  }

  reduce(kind: ReduceCall, value: unknown, r: Reducer, root: number, check: () => void, call: string = kind): Promise<unknown> {
    const byMpi = mpiReduction(kind, value, r);
    // The path (one MPI reduction, typed arrays by pointer, or a gather) follows from the
    // signature (op and operand kind), so once the ranks agree on it they take the same one.
    return this.serial(async (seq) => {
      const sig = CHECK ? reduceSignature(kindOf(call, kind), r.name, value, root) : 0;
      if (byMpi) return byMpi(this, sig, root, check, seq, call);
      if (!CHECK) return this.jsReduce(kind, value, r, root, check, call);
      await agree(this, call, sig, tryCheck(check), undefined, seq);
      return this.jsReduce(kind, value, r, root, NO_CHECK, call);
    });
  }

  /**
   * Custom functions (commutative or not), minloc/maxloc and operands MPI cannot reduce:
   * gather the values, fold in rank order (inside serial()).
   */
  private async jsReduce(kind: string, value: unknown, r: Reducer, root: number, check: () => void, call: string): Promise<unknown> {
    if (this.size === 1) {
      // alone: nothing to gather; the value itself, as on ws (through msgpack a -0 became 0)
      check();
      return kind === 'exscan' ? undefined : value;
    }
    const prep = () => {
      check();
      return encode(value, call);
    };
    if (kind === 'reduce') {
      const all = await this.gatherPackets(root, prep, false, call);
      return all && fold(all, r, all.length);
    }
    const all = (await this.gatherPackets(root, prep, true, call))!;
    if (kind === 'allreduce') return fold(all, r, all.length);
    if (kind === 'scan') return fold(all, r, this.rank + 1);
    return this.rank === 0 ? undefined : fold(all, r, this.rank);
  }

  async split(color: number, key: number, shared: boolean, call: string): Promise<CommBackend | null> {
    let members: readonly number[] | undefined;
    const h = await this.serial(async (seq) => {
      if (CHECK) await agree(this, call, signature(shared ? 'splitShared' : call === 'dup' ? 'dup' : 'split'), undefined, undefined, seq);
      if (shared) return this.proc.wait<number | null>(this.a.split(this.handle, 0, 0, true));
      const [c, k, group] = await this.splitRanks(color, key);
      members = group.map((r) => this.members[r]!);
      return this.proc.wait<number | null>(this.a.split(this.handle, c, k, false));
    });
    if (h === null) return null;
    const be = new MpiBackend(this.proc, h, members);
    // MPI_Comm_split_type chose the members: they tell each other their world ranks (one
    // allgather on the new communicator, before anyone else can use it)
    if (shared) {
      const all = new Int32Array(be.size);
      await be.coll('allgather', Int32Array.of(this.members[this.rank]!), 1, all, I32);
      be.members = Array.from(all);
    }
    return be;
  }

  /**
   * Colours and keys are any integers (JS numbers), as on ws; MPI_Comm_split takes C ints. So
   * the ranks first share theirs (one allgather of two doubles each) and hand MPI what they
   * stand for: the colour's place among the non-negative colours in use (a negative colour
   * is MPI_UNDEFINED: no communicator) and this rank's place in its group by (key, rank).
   */
  private async splitRanks(color: number, key: number): Promise<[number, number, number[]]> {
    const n = this.size;
    const all = new Float64Array(2 * n);
    await this.coll('allgather', Float64Array.of(color, key), 2, all, F64);
    if (color < 0) return [-1, 0, []];
    const colours = [...new Set(Array.from({ length: n }, (_, i) => all[2 * i]!).filter((x) => x >= 0))].sort((a, b) => a - b);
    const group = Array.from({ length: n }, (_, i) => i)
      .filter((i) => all[2 * i] === color)
      .sort((a, b) => all[2 * a + 1]! - all[2 * b + 1]! || a - b);
    return [colours.indexOf(color), group.indexOf(this.rank), group];
  }

  abort(code: number): void {
    this.a.abort(code);
  }

  /** set once this rank took part in the finalize agreement (then only MPI_Finalize is left) */
  agreed = false;

  /**
   * finalize(): every rank says it is here, on `life` (a communicator of its own, so it cannot
   * match a collective of the program): an MPI_Allgather of one int32, 0 from finalize(), 1
   * from a process that ends without it (addon.leave at exit, joinMpi). A plain barrier would
   * hang the others for good on a rank that never calls finalize (MPI_Finalize is collective).
   */
  async finalize(life: number): Promise<void> {
    const states = new Int32Array(this.size);
    await this.serial(() => this.proc.wait<void>(this.a.allgather(life, Int32Array.of(0), 1, states, I32), states));
    this.agreed = true;
    const gone = [...states.keys()].filter((r) => states[r] !== 0);
    if (gone.length > 0)
      throw new OrchidError(
        'ERR_PEER_LOST',
        `finalize: rank ${this.rank} lost rank${gone.length > 1 ? 's' : ''} ${listRanks(gone)} (${gone.length > 1 ? 'they' : 'it'} exited without calling finalize)`,
      );
    this.a.finalize();
    this.proc.close();
  }
}

/** At most 8 ranks by number, then how many more. */
function listRanks(rs: number[]): string {
  return rs.length <= 8 ? rs.join(', ') : `${rs.slice(0, 8).join(', ')} and ${rs.length - 8} more`;
}

function fold(values: unknown[], r: Reducer, n: number): unknown {
  let acc = values[0];
  for (let i = 1; i < n; i++) acc = r.combine(acc, values[i]);
  return acc;
}

function offsets(counts: Int32Array): Int32Array {
  const d = new Int32Array(counts.length);
  for (let i = 1; i < counts.length; i++) d[i] = d[i - 1]! + counts[i - 1]!;
  return d;
}

/** One buffer holding `parts` in order: no copy when they already lie back to back in one buffer. */
function contiguous(parts: Buffer[]): Buffer {
  if (parts.length === 0) return Buffer.alloc(0);
  const first = parts[0]!;
  let end = first.byteOffset + first.byteLength;
  let ok = true;
  for (let i = 1; i < parts.length && ok; i++) {
    const p = parts[i]!;
    ok = p.buffer === first.buffer && p.byteOffset === end;
    end = p.byteOffset + p.byteLength;
  }
  if (ok) return Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset);
  return Buffer.concat(parts);
}

/** Parts received back to back in `ab`: typed arrays of one kind stay views of that one buffer. */
function unpackParts(ab: ArrayBuffer, counts: Int32Array, displs: Int32Array, elems: number[]): unknown[] {
  const n = counts.length;
  const e0 = elems[0]!;
  if (e0 !== ELEM_NONE && elems.every((e) => e === e0)) {
    const C = elemCtor(e0);
    return Array.from({ length: n }, (_, i) =>
      e0 === ELEM_BUFFER ? Buffer.from(ab, displs[i], counts[i]) : new C(ab, displs[i]!, counts[i]! / C.BYTES_PER_ELEMENT),
    );
  }
  return Array.from({ length: n }, (_, i) => decode({ elem: elems[i]!, bytes: u8(ab, displs[i], counts[i]) }));
}
