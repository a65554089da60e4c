// A TypeScript program using orchid-mpi as a user would, compiled by test/types.test.mjs in a
// fresh project whose tsconfig brings in no types of its own ("types": []): orchid's .d.ts
// must bring Node's. Lines under `@ts-expect-error` must be type errors; the rest must compile.
import { dimsCreate, init, isFinalized, isInitialized, registerClass, testAll, testAny, waitAll, waitAny, waitSome, wtick, wtime, type CartComm, type Comm, type Group, type LocArrays, type Message, type Request, type Shift, type VSpec } from 'orchid-mpi';
import { launch, type LaunchOptions } from 'orchid-mpi/launcher';
import { Pool, TaskError, type MapResult } from 'orchid-mpi/pool';

export async function main(): Promise<void> {
  const w: Comm = await init();
  const secs: number = wtime() + wtick();
  const seen: LaunchOptions = { script: 'a.js', trace: 'out', profile: 'p.json', live: 8080 };
  // @ts-expect-error: --live takes a port number
  const badLive: LaunchOptions = { script: 'a.js', live: 'x' };

  // custom ops are tied to the value's type
  const n: number = await w.allreduce(1, (a, b) => a + b);
  const s: string = await w.allreduce('x', (a, b) => a + b);
  const v: Float64Array = await w.allreduce(new Float64Array(2), (a, b) => a.map((x, i) => x + b[i]!));
  const named: number = await w.allreduce(2, 'max');
  // @ts-expect-error: an op on strings cannot reduce numbers
  await w.allreduce(1, (a: string, b: string) => a + b);
  // @ts-expect-error: the op must return the value's type
  await w.reduce(1, (a, b) => `${a}${b}`);
  // @ts-expect-error: its operands are of the value's type
  await w.scan(new Int32Array(1), (a: Float64Array, b: Float64Array) => a);

  // waitAny: the value is typed by the requests'
  const r1: Request<Message<string>> = w.irecv<string>(0, 1);
  const r2: Request<void> = w.isend(1, 0, 2);
  const any = await waitAny([r1, r2]);
  const got: Message<string> | void = any.value;
  const one = await waitAny([r1]);
  const text: string = one.value.data;
  // @ts-expect-error: the value is not unknown
  const wrong: number = one.value;

  // nonblocking collectives: Requests typed by the blocking call's result
  const ia: Request<number> = w.iallreduce(1, 'sum');
  const ig: Request<string[] | undefined> = w.igather('x', 0);
  const ib: Request<void> = w.ibarrier();
  const [sumv, gathered] = await waitAll([ia, ig] as const);
  const sumTyped: number = sumv;
  const gatheredTyped: string[] | undefined = gathered;
  const all = testAll([ia, ib] as const);
  const firstDone: number | undefined = all?.[0];
  const ta = testAny([ia]);
  const tav: number | undefined = ta?.value;
  const some = await waitSome([ia, ig]);
  const someIdx: number[] = some.indices;
  // @ts-expect-error: iallreduce's op is tied to the value's type
  w.iallreduce(1, (a: string, b: string) => a + b);

  // the collectives grown since
  const spec: VSpec = { counts: [1, 2], displs: [0, 1] };
  const gv: Float64Array | undefined = await w.gatherv(new Float64Array(1), spec, 0);
  const agv: Int32Array = await w.allgatherv(new Int32Array(1), { counts: [1] });
  const atv: Uint8Array = await w.alltoallv(new Uint8Array(2), { counts: [1, 1] }, { counts: [1, 1] });
  // @ts-expect-error: the v-collectives take typed arrays
  await w.allgatherv([1, 2], spec);
  const rs: Float64Array = await w.reduceScatterBlock(new Float64Array(4), 'sum');
  const rsc: number[] = await w.reduceScatter([1, 2, 3], 'max', [1, 2]);
  const loc: [number, number] = await w.allreduce([1.5, w.rank] as [number, number], 'minloc');
  const locs: LocArrays<Float64Array> = await w.allreduce({ values: new Float64Array(2), indices: new Int32Array(2) }, 'maxloc');
  const nc: string = await w.allreduce('a', { fn: (a, b) => a + b, commute: false });
  // @ts-expect-error: commute is a boolean
  await w.allreduce('a', { fn: (a: string, b: string) => a + b, commute: 'no' });

  // abort() does not return
  function fail(code: number): never {
    return w.abort(code);
  }
  const after: string = typeof n === 'number' ? s : fail(1);

  // Node's types come with orchid's (a Buffer is a valid message; launch options)
  const b: Buffer = Buffer.from([1, 2]);
  await w.send(b, 0);
  const opts: LaunchOptions = { np: 2, script: 'x.js' };
  void launch;

  // the task pool: typed items and values
  const pool = await Pool.start<number, string>(w, { module: new URL('./t.js', import.meta.url), export: 'f' });
  if (pool) {
    for await (const r of pool.map([1, 2], { chunk: 2, ordered: false })) {
      const res: MapResult<string> = r;
      if (r.error) void (r.error instanceof TaskError);
      else { const sv: string = r.value; void [sv, res]; }
    }
    const one: string = await pool.submit(3);
    // @ts-expect-error: items are numbers
    await pool.submit('x');
    void one;
    await pool.close({ timeoutMs: 1000 });
  }
  void [n, s, v, named, got, text, wrong, after, opts, sumTyped, gatheredTyped, firstDone, tav, someIdx, gv, agv, atv, rs, rsc, loc, locs, nc];

  // grids: a CartComm is a Comm; shift's ends may be null, which sendrecv takes
  const dims: number[] = dimsCreate(w.size, 2);
  const grid: CartComm | null = await w.cart(dims, [true, false]);
  if (grid) {
    const comm: Comm = grid;
    const at: readonly number[] = grid.coords;
    const { source, dest }: Shift = grid.shift(0, 1);
    // @ts-expect-error: a neighbour may be null
    const nb: number = source;
    const halo: Float64Array = await grid.sendrecv<Float64Array>(new Float64Array(4), dest, source);
    const rows: CartComm = await grid.sub([false, true]);
    const r: number = grid.rankOf([0, 0]);
    void [comm, at, nb, halo, rows, r];
  }
  // groups
  const g: Group = w.group.incl([0]).union(w.group.excl([0]));
  const t: (number | undefined)[] = g.translate([0], w.group);
  const inGroup: number | undefined = g.rank;
  const sub: Comm | null = await w.create(g);
  // @ts-expect-error: create takes a Group, not ranks
  await w.create([0, 1]);
  // own classes, identity
  class Point {
    constructor(public x: number) {}
  }
  registerClass(Point);
  registerClass(Point, { encode: (p) => p.x, decode: (x: number) => new Point(x) });
  // @ts-expect-error: encode gets an instance of the class
  registerClass(Point, { encode: (p: string) => p });
  const flags: boolean[] = [isInitialized(), isFinalized()];
  const proc: string = w.processorName;
  void [t, inGroup, sub, flags, proc];
  void [secs, seen, badLive];
}
