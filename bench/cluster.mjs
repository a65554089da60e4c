#!/usr/bin/env node
// npm run bench:cluster — the ws transport on the emulated gigabit cluster
// (test/cluster/cluster.sh: 4 network namespaces, each with its own sshd, links shaped to
// 1 Gbit/s with tc tbf), started over ssh by orchidrun like on a real cluster:
//   1. point-to-point bandwidth of 4 MB messages between two hosts, against the 1 Gbit/s
//      line rate (125 MB/s), next to a plain TCP stream between the same hosts;
//   2. allreduce of 8 MB (Float64) over 4 hosts, against the ring bound 2(p-1)/p * N / B;
//   3. the wall time of a 4-host hello job (orchidrun start to exit).
// Needs root, iproute2 and openssh-server (like the cluster tests). Options: --json FILE.
// The same file is the rank program when started by orchidrun (ORCHID_RANK set).
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const ROOT = join(SELF, '../..');
const LINE_RATE = 125e6; // bytes/s of 1 Gbit/s

if (process.env.ORCHID_RANK !== undefined) await rankMain();
else await benchMain();

async function rankMain() {
  const { init } = await import('orchid-mpi');
  const world = await init();
  const mode = process.argv[2];
  if (mode === 'p2p') {
    const bytes = Number(process.argv[3]);
    const reps = Number(process.argv[4]);
    const buf = new Float64Array(bytes / 8).fill(1);
    const round = async (n) => {
      if (world.rank === 0) {
        for (let i = 0; i < n; i++) await world.send(buf, 1, 1);
        await world.recv(1, 2);
      } else if (world.rank === 1) {
        for (let i = 0; i < n; i++) await world.recv(0, 1);
        await world.send(0, 0, 2);
      }
    };
    await round(3); // warm up: connections open, buffers grown
    await world.barrier();
    const t0 = process.hrtime.bigint();
    await round(reps);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (world.rank === 0) console.log(`RESULT ${JSON.stringify({ bytes, reps, seconds: s, bandwidth: (bytes * reps) / s })}`);
  } else if (mode === 'allreduce') {
    const bytes = Number(process.argv[3]);
    const reps = Number(process.argv[4]);
    const v = new Float64Array(bytes / 8).fill(world.rank + 1);
    await world.allreduce(v);
    await world.allreduce(v);
    const times = [];
    for (let i = 0; i < reps; i++) {
      await world.barrier();
      const t0 = process.hrtime.bigint();
      const r = await world.allreduce(v);
      times.push(Number(process.hrtime.bigint() - t0) / 1e9);
      if (r[0] !== (world.size * (world.size + 1)) / 2) throw new Error(`wrong sum ${r[0]}`);
    }
    // a collective takes as long as its slowest rank
    const slowest = await world.allreduce(Float64Array.from(times), 'max');
    if (world.rank === 0) {
      const sorted = [...slowest].sort((a, b) => a - b);
      console.log(`RESULT ${JSON.stringify({ bytes, reps, p: world.size, median: sorted[sorted.length >> 1], best: sorted[0] })}`);
    }
  } else {
    console.log(`hello from rank ${world.rank} of ${world.size} on ${world.hostname}`);
  }
  await world.finalize();
}

function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}\n${err}`))));
  });
}

async function benchMain() {
  const jsonOut = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : undefined;
  const { clusterUnavailable, clusterUp } = await import(join(ROOT, 'test/helpers/cluster.mjs'));
  const why = clusterUnavailable();
  if (why) {
    console.error(`bench:cluster: ${why}`);
    process.exit(1);
  }
  const c = clusterUp(4);
  const orchidrun = (args) => run(process.execPath, [join(ROOT, 'dist/cli/orchidrun.js'), '--ssh', c.ssh, ...args], { cwd: ROOT });
  const result = (text) => JSON.parse(/^RESULT (.*)$/m.exec(text)[1]);
  const res = { when: new Date().toISOString(), link: '1 Gbit/s tbf (both veth ends), 4 emulated hosts, ws transport', node: process.version };
  try {
    // plain TCP between the same two hosts: what the emulated link gives any program
    const tcpBytes = 256 * 1024 * 1024;
    const server = spawn('ip', ['netns', 'exec', c.hosts[1].ns, process.execPath, '-e', `
      const s = require('net').createServer((c) => { let n = 0, t0; c.on('data', (d) => { t0 ??= process.hrtime.bigint(); n += d.length; });
        c.on('end', () => { console.log(JSON.stringify({ bytes: n, seconds: Number(process.hrtime.bigint() - t0) / 1e9 })); process.exit(0); }); });
      s.listen(5001, '${c.hosts[1].addr}', () => console.log('listening'));`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let sout = '';
    await new Promise((r) => server.stdout.on('data', (d) => ((sout += d), sout.includes('listening') && r())));
    const done = new Promise((r) => server.on('close', r));
    await run('ip', ['netns', 'exec', c.hosts[0].ns, process.execPath, '-e', `
      const s = require('net').connect(5001, '${c.hosts[1].addr}', () => { const b = Buffer.alloc(4 << 20); let left = ${tcpBytes / (4 << 20)};
        const go = () => { while (left > 0) { left--; if (!s.write(b)) return s.once('drain', go); } s.end(); }; go(); });`]);
    await done;
    const tcp = JSON.parse(sout.split('\n').find((l) => l.startsWith('{')));
    res.tcp = { bytes: tcp.bytes, bandwidth: tcp.bytes / tcp.seconds, ofLineRate: tcp.bytes / tcp.seconds / LINE_RATE };

    // the same, 4 streams at once round the ring of hosts (what a ring allreduce's steps do)
    const ring = await Promise.all(
      c.hosts.map(async (h, i) => {
        const to = c.hosts[(i + 1) % c.hosts.length];
        const srv = spawn('ip', ['netns', 'exec', to.ns, process.execPath, '-e', `
          const s = require('net').createServer((c) => { let n = 0, t0; c.on('data', (d) => { t0 ??= process.hrtime.bigint(); n += d.length; });
            c.on('end', () => { console.log(JSON.stringify({ bytes: n, seconds: Number(process.hrtime.bigint() - t0) / 1e9 })); process.exit(0); }); });
          s.listen(5002, '${to.addr}', () => console.log('listening'));`], { stdio: ['ignore', 'pipe', 'inherit'] });
        let o = '';
        await new Promise((r) => srv.stdout.on('data', (d) => ((o += d), o.includes('listening') && r())));
        return { from: h, to, srv, out: () => o, done: new Promise((r) => srv.on('close', r)) };
      }),
    );
    await Promise.all(
      ring.map(({ from, to }) =>
        run('ip', ['netns', 'exec', from.ns, process.execPath, '-e', `
          const s = require('net').connect(5002, '${to.addr}', () => { const b = Buffer.alloc(4 << 20); let left = ${(128 << 20) / (4 << 20)};
            const go = () => { while (left > 0) { left--; if (!s.write(b)) return s.once('drain', go); } s.end(); }; go(); });`]),
      ),
    );
    await Promise.all(ring.map((x) => x.done));
    const rates = ring.map((x) => {
      const j = JSON.parse(x.out().split('\n').find((l) => l.startsWith('{')));
      return j.bytes / j.seconds;
    });
    res.tcpRing = { perStream: rates, slowest: Math.min(...rates) };

    const p2p = result(await orchidrun(['--hosts', 'node1,node2', SELF, 'p2p', String(4 << 20), '40']));
    res.p2p = { ...p2p, ofLineRate: p2p.bandwidth / LINE_RATE, ofTcp: p2p.bandwidth / res.tcp.bandwidth };

    const ar = result(await orchidrun(['--hosts', 'node1,node2,node3,node4', SELF, 'allreduce', String(8 << 20), '20']));
    const bound = ((2 * (ar.p - 1)) / ar.p) * ar.bytes / LINE_RATE;
    // the same bound at the rate 4 simultaneous TCP streams actually get here
    const achievable = ((2 * (ar.p - 1)) / ar.p) * ar.bytes / res.tcpRing.slowest;
    res.allreduce = { ...ar, ringBound: bound, ofBound: ar.median / bound, tcpRingBound: achievable, ofTcpRingBound: ar.median / achievable };

    const walls = [];
    for (let i = 0; i < 3; i++) {
      const t0 = process.hrtime.bigint();
      await orchidrun(['--hosts', 'node1,node2,node3,node4', SELF, 'hello']);
      walls.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    walls.sort((a, b) => a - b);
    res.hello = { runs: walls, median: walls[1] };
  } finally {
    c.down();
  }
  const mb = (x) => (x / 1e6).toFixed(1);
  console.log(`# orchid bench:cluster (${res.link}; node ${res.node})\n`);
  console.log('| measure | result | reference | ratio |');
  console.log('|---|---|---|---|');
  console.log(`| plain TCP stream node1 -> node2 (${res.tcp.bytes >> 20} MB) | ${mb(res.tcp.bandwidth)} MB/s | line rate 125 MB/s | ${res.tcp.ofLineRate.toFixed(3)} |`);
  console.log(`| plain TCP, 4 streams at once round the ring of hosts (128 MB each) | slowest ${mb(res.tcpRing.slowest)} MB/s | line rate 125 MB/s | ${(res.tcpRing.slowest / LINE_RATE).toFixed(3)} |`);
  console.log(`| ws send 4 MB x ${res.p2p.reps}, node1 -> node2 | ${mb(res.p2p.bandwidth)} MB/s | line rate 125 MB/s | ${res.p2p.ofLineRate.toFixed(3)} (${res.p2p.ofTcp.toFixed(3)} of TCP) |`);
  console.log(`| allreduce 8 MB Float64, 4 hosts (median of ${res.allreduce.reps}) | ${(res.allreduce.median * 1000).toFixed(1)} ms | ring bound ${(res.allreduce.ringBound * 1000).toFixed(1)} ms | ${res.allreduce.ofBound.toFixed(2)}x |`);
  console.log(`| allreduce 8 MB Float64, 4 hosts (median) | ${(res.allreduce.median * 1000).toFixed(1)} ms | ring bound at the 4-stream TCP rate ${(res.allreduce.tcpRingBound * 1000).toFixed(1)} ms | ${res.allreduce.ofTcpRingBound.toFixed(2)}x |`);
  console.log(`| allreduce 8 MB Float64, 4 hosts (best of ${res.allreduce.reps}) | ${(res.allreduce.best * 1000).toFixed(1)} ms | ring bound ${(res.allreduce.ringBound * 1000).toFixed(1)} ms | ${(res.allreduce.best / res.allreduce.ringBound).toFixed(2)}x |`);
  console.log(`| hello on 4 hosts, orchidrun wall time (median of 3) | ${(res.hello.median * 1000).toFixed(0)} ms | | |`);
  console.log(`\nAll hosts share this machine's ${availableParallelism()} cores: with 4 hosts streaming at once the kernel's veth/bridge/tbf work and the ranks compete for them.`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(res, null, 2) + '\n');
}
