// The program every rank of a benchmark job runs (started by the driver through launch()).
// argv[2] is a JobSpec as JSON. Rank 0 prints the measurements as LINE_PREFIX + JSON lines.
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { init } from '../index.js';
import type { Comm } from '../comm/comm.js';
import { version } from '../cli/usage.js';
import { readHostInfo, readThermal, throttleSeen, type ThermalReading } from './hostinfo.js';
import { mergeWindows, ShareMeter, type RankWindow } from './comm-share.js';
import { KERNELS, kernelWork, weakRun, type HybridPool, type KernelFn } from './kernels.js';
import { LINE_PREFIX, type HostDetail, type JobSpec, type LinkSpec, type MicroSpec, type Pair, type RankLine, type ThermalSample } from './protocol.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as JobSpec;
const world = await init();

function emit(line: RankLine): void {
  if (world.rank === 0) process.stdout.write(LINE_PREFIX + JSON.stringify(line) + '\n');
}

/** The MPI this host has, as its mpiexec says (first version line), or null. */
function mpiVersion(): string | null {
  try {
    const out = execFileSync('mpiexec', ['--version'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    const hydra = /^\s*Version:\s*(\S+)/m.exec(out);
    return hydra ? `MPICH ${hydra[1]}` : out.split('\n')[0]!.replace(/^mpiexec\s*/, '').trim() || null;
  } catch {
    return null;
  }
}

const now = (): number => Number(process.hrtime.bigint()) / 1e3; // µs

/** Iterations for a message of `size` bytes. */
export function itersFor(size: number, scale: number): number {
  const base = size <= 4096 ? 1000 : size <= 65536 ? 300 : size <= 1048576 ? 60 : 20;
  return Math.max(3, Math.round(base * scale));
}

async function pingpong(comm: Comm, m: MicroSpec, pair: Pair): Promise<void> {
  const { a, b } = pair;
  if (comm.size <= Math.max(a, b)) return;
  for (const size of m.p2pSizes) {
    const buf = new Uint8Array(size).fill(7);
    const iters = itersFor(size, m.scale);
    const warm = Math.max(2, iters >> 3);
    const lat: number[] = [];
    for (let r = 0; r < m.repeats; r++) {
      await comm.barrier();
      let t0 = 0;
      for (let i = 0; i < warm + iters; i++) {
        if (i === warm) t0 = now();
        if (comm.rank === a) {
          await comm.send(buf, b);
          await comm.recv(b);
        } else if (comm.rank === b) {
          const got = await comm.recv(a);
          await comm.send(got, a);
        }
      }
      lat.push((now() - t0) / iters / 2); // one-way µs
    }
    const where = { placement: pair.placement, peer: b };
    emit({ type: 'micro', benchmark: 'pingpong-latency', size, unit: 'us', iters, samples: lat, ...where });
    emit({ type: 'micro', benchmark: 'pingpong-bandwidth', size, unit: 'MB/s', iters, samples: lat.map((us) => size / us), ...where });
  }
}

/** Every pair of hosts in turn, one rank per host: latency of 8 B and streaming bandwidth. */
async function links(comm: Comm, hosts: string[], l: LinkSpec): Promise<void> {
  const small = new Uint8Array(8);
  const big = new Uint8Array(l.bytes).fill(1);
  const mine: Array<{ a: string; b: string; latencyUs: number[]; mbps: number[] }> = [];
  for (let i = 0; i < comm.size; i++) {
    for (let j = i + 1; j < comm.size; j++) {
      const lat: number[] = [];
      const bw: number[] = [];
      for (let r = 0; r < l.repeats; r++) {
        await comm.barrier();
        if (comm.rank === i) {
          for (let w = 0; w < 10; w++) {
            await comm.send(small, j, 1);
            await comm.recv(j, 1);
          }
          let t0 = now();
          for (let k = 0; k < l.latencyIters; k++) {
            await comm.send(small, j, 1);
            await comm.recv(j, 1);
          }
          lat.push((now() - t0) / l.latencyIters / 2);
          await comm.send(big, j, 2); // warm: buffers and windows grown
          await comm.recv(j, 3);
          t0 = now();
          for (let k = 0; k < l.messages; k++) await comm.send(big, j, 2);
          await comm.recv(j, 3);
          bw.push((l.bytes * l.messages) / (now() - t0)); // bytes/µs = MB/s
        } else if (comm.rank === j) {
          for (let k = 0; k < 10 + l.latencyIters; k++) {
            await comm.recv(i, 1);
            await comm.send(small, i, 1);
          }
          await comm.recv(i, 2);
          await comm.send(0, i, 3);
          for (let k = 0; k < l.messages; k++) await comm.recv(i, 2);
          await comm.send(0, i, 3);
        }
      }
      if (comm.rank === i) mine.push({ a: hosts[i]!, b: hosts[j]!, latencyUs: lat, mbps: bw });
    }
  }
  const all = (await comm.gather(mine, 0)) as (typeof mine)[] | undefined;
  for (const x of all?.flat() ?? []) emit({ type: 'link', ...x });
}

async function collectives(comm: Comm, m: MicroSpec): Promise<void> {
  if (comm.size < 2) return;
  for (const coll of m.collectives) {
    const sizes = coll === 'barrier' ? [0] : m.collSizes;
    for (const size of sizes) {
      const iters = itersFor(size, m.scale);
      const warm = Math.max(2, iters >> 3);
      const n = Math.max(1, size >> 3);
      const data = new Float64Array(n).fill(comm.rank + 1);
      const parts = Array.from({ length: comm.size }, () => new Uint8Array(size).fill(comm.rank));
      const once = async (): Promise<void> => {
        switch (coll) {
          case 'barrier':
            await comm.barrier();
            break;
          case 'bcast':
            await comm.bcast(comm.rank === 0 ? data : undefined, 0);
            break;
          case 'allreduce':
            await comm.allreduce(data, 'sum');
            break;
          case 'alltoall':
            await comm.alltoall(parts);
            break;
        }
      };
      const samples: number[] = [];
      for (let r = 0; r < m.repeats; r++) {
        await comm.barrier();
        for (let i = 0; i < warm; i++) await once();
        const t0 = now();
        for (let i = 0; i < iters; i++) await once();
        const mine = (now() - t0) / iters;
        samples.push((await comm.allreduce(mine, 'max')) as number);
      }
      emit({ type: 'micro', benchmark: coll, size, unit: 'us', iters, samples });
    }
  }
}

async function makePool(local: Comm, forced?: number): Promise<{ pool: HybridPool; close: () => Promise<void> }> {
  const threads = forced ?? Math.max(1, Math.floor(availableParallelism() / local.size));
  const { Piscina } = await import('piscina');
  const piscina = new Piscina({ filename: new URL('./hybrid-worker.js', import.meta.url).href, minThreads: threads, maxThreads: threads, idleTimeout: 60_000 });
  await Promise.all(Array.from({ length: threads }, () => piscina.run({ kernel: 'warmup', n: 0 })));
  return {
    pool: { threads, run: (t) => piscina.run(t) as Promise<number> },
    close: () => piscina.destroy(),
  };
}

/** Each host's temperatures and clocks (its first local rank reads them), gathered everywhere. */
async function thermal(comm: Comm, local: Comm): Promise<Array<{ host: string; t: ThermalReading } | null>> {
  return (await comm.allgather(local.rank === 0 ? { host: comm.hostname, t: readThermal() } : null)) as Array<{ host: string; t: ThermalReading } | null>;
}

async function kernels(comm: Comm, local: Comm, details: HostDetail[], pool: HybridPool | undefined): Promise<void> {
  for (const k of spec.kernels ?? []) {
    let run: KernelFn = KERNELS[k.kernel];
    const scaling = k.scaling;
    const { size, work } = kernelWork(k.kernel, scaling, k.base, comm.size);
    if (scaling === 'weak') run = weakRun(k.kernel, k.base, comm.size).run;
    const samples: number[] = [];
    let verified = true;
    let detail = '';
    let before: Awaited<ReturnType<typeof thermal>> = [];
    // orchid bench --profile: the time in orchid calls over the timed repeats (comm-share.ts)
    const meter = ShareMeter.create(comm.rank);
    for (let r = -1; r < k.repeats; r++) {
      if (r === 0) before = await thermal(comm, local);
      await comm.barrier();
      const t0 = now();
      if (r >= 0) meter?.start();
      // the warm-up run (JIT, connections) of HPL at full size would double its time: a small one does
      const res = r < 0 && k.kernel === 'hpl' ? await KERNELS.hpl(comm, Math.min(size, 256), pool) : await run(comm, size, pool);
      await comm.barrier();
      meter?.stop();
      const dt = res.seconds ?? (now() - t0) / 1e6; // seconds
      if (r >= 0) samples.push(dt);
      if (!res.verified) verified = false;
      if (!res.verified || !detail) detail = res.detail;
    }
    const windows = meter ? ((await comm.gather(meter.window(), 0)) as RankWindow[] | undefined) : undefined;
    const after = await thermal(comm, local);
    const thermalSamples: ThermalSample[] = [];
    for (const b of before) {
      const a = after.find((x) => x?.host === b?.host);
      if (!b || !a) continue;
      const maxMHz = details.find((d) => d.name === b.host)?.freqMHz?.max;
      thermalSamples.push({ host: b.host, before: b.t, after: a.t, throttled: throttleSeen(b.t, a.t, maxMHz ?? null) });
    }
    emit({ type: 'kernel', kernel: k.kernel, scaling: pool ? 'hybrid' : scaling, size, threads: pool?.threads ?? 1, samples, verified, detail, work, thermal: thermalSamples, ...(windows ? { profile: mergeWindows(windows) } : {}) });
  }
}

try {
  const local = await world.splitShared();
  const hosts = (await world.allgather(world.hostname)) as string[];
  const localSizes = (await world.allgather(local.size)) as number[];
  const me: HostDetail | null = local.rank === 0 ? { ...readHostInfo('/', { orchid: version(), mpi: mpiVersion(), name: world.hostname }), address: process.env.ORCHID_ADDR } : null;
  const hostDetails = ((await world.allgather(me)) as (HostDetail | null)[]).filter((h): h is HostDetail => h !== null);
  let hybrid: Awaited<ReturnType<typeof makePool>> | undefined;
  if (spec.hybrid) hybrid = await makePool(local, spec.threads);
  emit({ type: 'job', hosts: [...new Set(hosts)], ranks: world.size, localSizes, threads: hybrid?.pool.threads ?? 1, transport: process.env.ORCHID_TRANSPORT ?? 'ws', hostDetails });
  if (spec.links) await links(world, hosts, spec.links);
  if (spec.micro) {
    for (const pair of spec.micro.pairs ?? [{ a: 0, b: 1, placement: 'intra' as const }]) await pingpong(world, spec.micro, pair);
    if (!spec.micro.noCollectives) await collectives(world, spec.micro);
  }
  await kernels(world, local, hostDetails, hybrid?.pool);
  await hybrid?.close();
} catch (e) {
  const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
  process.stdout.write(LINE_PREFIX + JSON.stringify({ type: 'error', message: `rank ${world.rank}: ${message}` }) + '\n');
  process.exitCode = 1;
}
await world.finalize();
