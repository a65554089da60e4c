// A TypeScript program using orchid-mpi as a user would, compiled by test/types.test.mjs in a
// fresh project whose tsconfig brings in no types of its own ("types": []): orchid's .d.ts
// must bring Node's. Lines under `@ts-expect-error` must be type errors; the rest must compile.
import { init, waitAny, wtick, wtime, type Comm, type Message, type Request } from 'orchid-mpi';
import { launch, type LaunchOptions } from 'orchid-mpi/launcher';

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
  void [n, s, v, named, got, text, wrong, after, opts];
}
