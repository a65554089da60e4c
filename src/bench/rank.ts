// The program every rank of a benchmark job runs (started by the driver through launch()).
// argv[2] is a JobSpec as JSON. Rank 0 prints the measurements as LINE_PREFIX + JSON lines.
import { arch, availableParallelism, cpus, totalmem } from 'node:os';
import { init } from '../index.js';
import type { Comm } from '../comm/comm.js';
import { KERNELS, weakRun, type HybridPool, type KernelFn } from './kernels.js';
import { LINE_PREFIX, type HostDetail, type JobSpec, type MicroSpec, type RankLine } from './protocol.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as JobSpec;
const world = await init();

function emit(line: RankLine): void {
  if (world.rank === 0) process.stdout.write(LINE_PREFIX + JSON.stringify(line) + '\n');
}

const now = (): number => Number(process.hrtime.bigint()) / 1e3; // µs

/** Iterations for a message of `size` bytes. */
export function itersFor(size: number, scale: number): number {
  const base = size <= 4096 ? 1000 : size <= 65536 ? 300 : size <= 1048576 ? 60 : 20;
  return Math.max(3, Math.round(base * scale));
}

async function pingpong(comm: Comm, m: MicroSpec): Promise<void> {
  if (comm.size < 2) return;
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
        if (comm.rank === 0) {
          await comm.send(buf, 1);
          await comm.recv(1);
        } else if (comm.rank === 1) {
          const got = await comm.recv(0);
          await comm.send(got, 0);
        }
      }
      lat.push((now() - t0) / iters / 2); // one-way µs
    }
    emit({ type: 'micro', benchmark: 'pingpong-latency', size, unit: 'us', iters, samples: lat });
    emit({ type: 'micro', benchmark: 'pingpong-bandwidth', size, unit: 'MB/s', iters, samples: lat.map((us) => size / us) });
  }
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

async function kernels(comm: Comm, pool: HybridPool | undefined): Promise<void> {
  for (const k of spec.kernels ?? []) {
    let run: KernelFn = KERNELS[k.kernel];
    let size = k.base;
    if (k.scaling === 'weak') ({ run, size } = weakRun(k.kernel, k.base, comm.size));
    const samples: number[] = [];
    let verified = true;
    let detail = '';
    for (let r = -1; r < k.repeats; r++) {
      await comm.barrier();
      const t0 = now();
      const res = await run(comm, size, pool);
      await comm.barrier();
      const dt = (now() - t0) / 1e6; // seconds
      if (r >= 0) samples.push(dt);
      if (!res.verified) verified = false;
      if (!res.verified || !detail) detail = res.detail;
    }
    emit({ type: 'kernel', kernel: k.kernel, scaling: pool ? 'hybrid' : k.scaling, size, threads: pool?.threads ?? 1, samples, verified, detail });
  }
}

try {
  const local = await world.splitShared();
  const hosts = (await world.allgather(world.hostname)) as string[];
  const localSizes = (await world.allgather(local.size)) as number[];
  const me: HostDetail | null = local.rank === 0 ? { name: world.hostname, cpuModel: cpus()[0]?.model?.trim() || 'unknown', cores: availableParallelism(), memoryBytes: totalmem(), node: process.version, arch: arch() } : null;
  const hostDetails = ((await world.allgather(me)) as (HostDetail | null)[]).filter((h): h is HostDetail => h !== null);
  let hybrid: Awaited<ReturnType<typeof makePool>> | undefined;
  if (spec.hybrid) hybrid = await makePool(local, spec.threads);
  emit({ type: 'job', hosts: [...new Set(hosts)], ranks: world.size, localSizes, threads: hybrid?.pool.threads ?? 1, transport: process.env.ORCHID_TRANSPORT ?? 'ws', hostDetails });
  if (spec.micro) {
    await pingpong(world, spec.micro);
    await collectives(world, spec.micro);
  }
  await kernels(world, hybrid?.pool);
  await hybrid?.close();
} catch (e) {
  const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
  process.stdout.write(LINE_PREFIX + JSON.stringify({ type: 'error', message: `rank ${world.rank}: ${message}` }) + '\n');
  process.exitCode = 1;
}
await world.finalize();
