// The ssh bootstrap and its faults on the emulated cluster (test/cluster/cluster.sh): four
// network namespaces with their own address, sshd and hostname, joined by a bridge with
// 1 Gbit/s links; the launcher runs in the root namespace (10.77.0.1). Every fault test
// also checks that nothing but sshd is left running on any host afterwards. Time bounds
// are generous and only catch hangs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { clusterSkip, clusterUp, waitHostsClean } from './helpers/cluster.mjs';
import { isAlive, orchidrun, ROOT, startOrchidrun, waitDead } from './helpers/run.mjs';

const JOB = join(ROOT, 'test/programs/cluster/job.mjs');
const RANK = join(ROOT, 'test/programs/launcher/rank.mjs');
const HOSTS4 = 'node1,node2,node3,node4';

let c;
const base = () => ['--ssh', c.ssh];
const launcherLines = (stderr) => stderr.split('\n').filter((l) => l.startsWith('orchidrun:'));
const waits = (stdout) => [...stdout.matchAll(/^WAIT (.*)$/gm)].map((m) => JSON.parse(m[1]));

async function assertClean(what) {
  const left = await waitHostsClean(c, 15_000);
  assert.deepEqual(left, [], `${what}: processes left on the hosts`);
  // and no ssh client of ours left in the head namespace
  const mine = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (cmd.includes(c.sshConfig) && isAlive(Number(p))) mine.push(`${p} ${cmd.replace(/\0/g, ' ')}`);
    } catch {}
  }
  assert.deepEqual(mine, [], `${what}: ssh clients left in the head namespace`);
}

describe('ssh bootstrap on 4 emulated hosts', clusterSkip(), () => {
  before(() => {
    c = clusterUp(4);
  });
  after(() => c?.down());

  test('the cluster: own hostnames, addresses and 1 Gbit/s links', () => {
    for (const [i, h] of c.hosts.entries()) {
      const out = execFileSync('ssh', ['-F', c.sshConfig, h.name, 'hostname; ip -4 -o addr show dev eth0'], { encoding: 'utf8' });
      assert.match(out, new RegExp(`^node${i + 1}\\n`));
      assert.match(out, new RegExp(`inet ${h.addr.replace(/\./g, '\\.')}/24`));
      assert.match(execFileSync('tc', ['-n', h.ns, 'qdisc', 'show', 'dev', 'eth0'], { encoding: 'utf8' }), /tbf .*rate 1Gbit/);
      assert.match(execFileSync('tc', ['qdisc', 'show', 'dev', h.veth], { encoding: 'utf8' }), /tbf .*rate 1Gbit/);
    }
  });

  test('a job over 4 hosts: each rank on its host, bound to that host\'s address, hostname per host', async () => {
    const r = await orchidrun([...base(), '--hosts', 'node1:2,node2,node3,node4', JOB, 'where'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const all = JSON.parse(/^WHERE (.*)$/m.exec(r.stdout)[1]);
    const expect = ['node1', 'node1', 'node2', 'node3', 'node4'];
    assert.deepEqual(all.map((x) => x.host), expect, 'os.hostname() on each rank');
    assert.deepEqual(all.map((x) => x.world), expect, 'world.hostname');
    assert.deepEqual(all.map((x) => x.addr), expect.map((n) => c.hosts.find((h) => h.name === n).addr), 'ORCHID_ADDR');
    await assertClean('after a clean job');
  });

  test('this host and remote hosts in one job; --iface picks the advertised address; a loopback --iface with remote hosts is refused', async () => {
    const mixed = await orchidrun([...base(), '--hosts', 'localhost:2,node2:2', JOB, 'where'], { timeoutMs: 60_000 });
    assert.equal(mixed.code, 0, mixed.stderr);
    const all = JSON.parse(/^WHERE (.*)$/m.exec(mixed.stdout)[1]);
    // this host's ranks advertise the address that routes to the first remote host
    assert.deepEqual(all.map((x) => x.addr), [c.head, c.head, c.hosts[1].addr, c.hosts[1].addr]);
    assert.deepEqual(all.map((x) => x.world), ['localhost', 'localhost', 'node2', 'node2']);
    for (const iface of [c.hosts[0].veth.replace(/-v1$/, '-br'), c.head]) {
      const r = await orchidrun([...base(), '--iface', iface, '--hosts', 'node1', RANK, 'env'], { timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.match(JSON.parse(r.stdout).env.ORCHID_COORD, new RegExp(`^${c.head.replace(/\./g, '\\.')}:\\d+$`), `--iface ${iface}`);
    }
    const lo = await orchidrun([...base(), '--iface', 'lo', '--hosts', 'node1', RANK, 'hello']);
    assert.equal(lo.code, 2);
    assert.match(lo.stderr, /^orchidrun: --iface lo: 127\.0\.0\.1 is a loopback address, which host node1 cannot reach/);
  });

  test('the job secret is on no command line and in no environment, on any host', async () => {
    const run = startOrchidrun([...base(), '--hosts', HOSTS4, RANK, 'secret'], { timeoutMs: 60_000 });
    const found = await run.waitFor(/^\{.*\}$/gm, 4, 30_000);
    const infos = found.map((m) => JSON.parse(m[0]));
    const secret = Buffer.from(infos[0].secret, 'base64');
    assert.equal(secret.length, 32);
    const needles = [secret.toString('base64'), secret.toString('hex'), secret.toString('base64url')];
    // every process of every host (proxies, ranks, sshd sessions) and the launcher's ssh clients
    const pids = [run.child.pid];
    for (const h of c.hosts) pids.push(...c.procs(c.hosts.indexOf(h) + 1).map((p) => p.pid));
    for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(c.sshConfig)) pids.push(Number(p));
      } catch {}
    }
    assert.ok(pids.length >= 1 + 4 * 3, `found the processes: ${pids.length}`);
    for (const pid of pids) {
      for (const f of ['cmdline', 'environ']) {
        let text;
        try {
          text = readFileSync(`/proc/${pid}/${f}`);
        } catch {
          continue;
        }
        for (const n of needles) assert.ok(!text.toString('latin1').includes(n), `secret in /proc/${pid}/${f}`);
        assert.ok(!text.includes(secret), `raw secret in /proc/${pid}/${f}`);
      }
    }
    process.kill(run.child.pid, 'SIGTERM');
    assert.equal((await run.result).code, 143);
    await assertClean('after SIGTERM');
  });

  test('kill -9 of a rank on a remote host: the job ends naming rank and host, nothing left', async () => {
    const run = startOrchidrun([...base(), '--hosts', HOSTS4, JOB, 'wait'], { timeoutMs: 60_000 });
    await run.waitFor(/^WAIT /gm, 4, 30_000);
    const victim = waits(run.stdout).find((w) => w.rank === 2);
    assert.equal(victim.host, 'node3');
    process.kill(victim.pid, 'SIGKILL');
    const t0 = Date.now();
    const r = await run.result;
    assert.equal(r.hung, false);
    assert.ok(Date.now() - t0 < 10_000, 'the job ended within seconds');
    assert.equal(r.code, 137, r.stderr);
    assert.match(launcherLines(r.stderr)[0], /^orchidrun: rank 2 on host node3 was killed by signal SIGKILL/);
    await assertClean('after kill -9 of rank 2');
  });

  test('kill -9 of a remote proxy: its ranks die, the job ends naming the host, nothing left', async () => {
    const run = startOrchidrun([...base(), '--hosts', 'node1,node2:2,node3', JOB, 'wait'], { timeoutMs: 60_000 });
    await run.waitFor(/^WAIT /gm, 4, 30_000);
    const onNode2 = waits(run.stdout).filter((w) => w.host === 'node2');
    assert.equal(onNode2.length, 2);
    const proxy = onNode2[0].ppid;
    assert.match(readFileSync(`/proc/${proxy}/cmdline`, 'utf8'), /launcher\/proxy\.js/);
    process.kill(proxy, 'SIGKILL');
    const r = await run.result;
    assert.equal(r.hung, false);
    assert.equal(r.code, 255, r.stderr);
    assert.match(launcherLines(r.stderr)[0], /^orchidrun: the proxy on host node2 .*; ranks 1, 2 lost/);
    assert.deepEqual(await waitDead(onNode2.map((w) => w.pid), 5000), []);
    await assertClean('after kill -9 of a proxy');
  });

  test('kill -9 of a remote proxy while its rank runs a synchronous loop: the rank dies within seconds, the launcher says the proxy was killed', async () => {
    const run = startOrchidrun([...base(), '--hosts', 'node1,node2', JOB, 'spin', '120'], { timeoutMs: 150_000 });
    await run.waitFor(/^WAIT /gm, 2, 60_000);
    const victim = waits(run.stdout).find((w) => w.host === 'node2');
    assert.match(readFileSync(`/proc/${victim.ppid}/cmdline`, 'utf8'), /launcher\/proxy\.js/);
    process.kill(victim.ppid, 'SIGKILL');
    const t0 = Date.now();
    const r = await run.result;
    assert.equal(r.hung, false);
    assert.equal(r.code, 255, r.stderr);
    assert.match(launcherLines(r.stderr)[0], /^orchidrun: the proxy on host node2 was killed \(by SIGKILL\b.*; rank 1 lost$/);
    assert.deepEqual(await waitDead([victim.pid], Math.max(0, 8000 - (Date.now() - t0))), [], 'the spinning rank outlived its proxy');
    await assertClean('after kill -9 of the proxy of a spinning rank');
  });

  test('--timeout over ssh: one line per rank (with its host) saying what it waits for; no socket file left on the hosts', async () => {
    const FAULT = join(ROOT, 'test/programs/faults/fault.mjs');
    const run = startOrchidrun([...base(), '--hosts', 'node1:2,node2:2', '--timeout', '25', '--env', 'FAULT_SAY_JOB=1', FAULT, 'pending'], { timeoutMs: 120_000 });
    await run.waitFor(/^rank \d in place$/gm, 4, 90_000);
    const id = /^job ([0-9a-f]+)$/m.exec(run.stdout)[1];
    const sockets = () => readdirSync('/tmp').filter((f) => f.startsWith(`orchid-${id.slice(0, 12)}-`) && f.endsWith('.sock'));
    assert.equal(sockets().length, 4, 'each rank listens on its socket while it runs');
    const r = await run.result;
    assert.equal(r.hung, false);
    assert.equal(r.code, 124, r.stderr);
    assert.match(r.stderr, /^orchidrun: rank 0 \(host node1\): running \(no pending call\)$/m);
    assert.match(r.stderr, /^orchidrun: rank 1 \(host node1\): recv\(source 2, tag 5\) for \d+\.\d s$/m);
    assert.match(r.stderr, /^orchidrun: rank 2 \(host node2\): in finalize for \d+\.\d s/m);
    assert.match(r.stderr, /^orchidrun: rank 3 \(host node2\): no answer: busy \(not in the event loop\)$/m);
    assert.equal(launcherLines(r.stderr).at(-1), 'orchidrun: job timed out after 25 s');
    assert.deepEqual(sockets(), [], 'socket files left after --timeout');
    await assertClean('after --timeout');
  });

  test('kill -9 of the launcher: every proxy sees its session end and ends its ranks, nothing left', async () => {
    const run = startOrchidrun([...base(), '--hosts', HOSTS4, JOB, 'wait'], { timeoutMs: 60_000 });
    await run.waitFor(/^WAIT /gm, 4, 30_000);
    process.kill(run.child.pid, 'SIGKILL');
    await run.result;
    await assertClean('after kill -9 of the launcher');
  });

  test('Ctrl-C: exit 130, ranks on every host ended, nothing left', async () => {
    const run = startOrchidrun([...base(), '--hosts', HOSTS4, JOB, 'wait'], { timeoutMs: 60_000 });
    await run.waitFor(/^WAIT /gm, 4, 30_000);
    process.kill(run.child.pid, 'SIGINT');
    const r = await run.result;
    assert.equal(r.code, 130, r.stderr);
    await assertClean('after Ctrl-C');
  });

  test('a host whose sshd refuses the key: a clear error naming it, within the connect timeout', async () => {
    const t0 = Date.now();
    const r = await orchidrun([...base(), '--hosts', 'node2,badkey', RANK, 'sleep'], { timeoutMs: 30_000 });
    assert.ok(Date.now() - t0 < 8000, `took ${Date.now() - t0} ms`);
    assert.equal(r.code, 255, r.stderr);
    assert.match(launcherLines(r.stderr)[0], /^orchidrun: cannot start the proxy on host badkey over ssh \(ssh exit 255\): .*Permission denied \(publickey\)/);
    await assertClean('after a refused key');
  });

  test('no node at that path on a host: a clear error naming the host and ORCHID_REMOTE_NODE', async () => {
    const r = await orchidrun([...base(), '--hosts', 'node1', RANK, 'hello'], { timeoutMs: 30_000, env: { ORCHID_REMOTE_NODE: '/nonexistent/node' } });
    assert.equal(r.code, 255, r.stderr);
    assert.match(launcherLines(r.stderr)[0], /^orchidrun: cannot start the proxy on host node1: .*\/nonexistent\/node.* \(node must be at the same path there, or set ORCHID_REMOTE_NODE\); rank 0 lost$/);
  });

  test('an unreachable host: a clear error naming it, within the connect timeout', async () => {
    const t0 = Date.now();
    const r = await orchidrun([...base(), '--hosts', 'node1,unreachable', RANK, 'sleep'], { timeoutMs: 30_000, env: { ORCHID_SSH_CONNECT_TIMEOUT: '2' } });
    const took = Date.now() - t0;
    assert.ok(took < 8000, `took ${took} ms`);
    assert.equal(r.code, 255, r.stderr);
    assert.match(launcherLines(r.stderr)[0], /^orchidrun: cannot start the proxy on host unreachable over ssh \(ssh exit 255\): ssh: connect to host 10\.77\.0\.250 port 22: Connection timed out/);
    await assertClean('after an unreachable host');
  });

  test('MPMD over ssh with --map-by node: one world across hosts, ranks round-robin, bound and reported on their own host', async () => {
    const master = join(ROOT, 'test/programs/mpmd/master.mjs');
    const worker = join(ROOT, 'test/programs/mpmd/worker.mjs');
    const r = await orchidrun(
      [...base(), '--hosts', 'node1:2,node2:2,node3:2', '--map-by', 'node', '--display-map', '--bind-to', 'core', '--report-bindings',
        '-genv', 'OT_G', 'g', '-n', '1', master, ':', '-n', '4', '-env', 'OT_L', 'w', worker],
      { timeoutMs: 120_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(/^MPMD (.*)$/m.exec(r.stdout)[1]);
    assert.deepEqual(res.answers.map((a) => a.result), [11, 22, 33, 44]);
    assert.deepEqual(res.all.map((x) => [x.role, x.host]), [
      ['master', 'node1'], ['worker', 'node2'], ['worker', 'node3'], ['worker', 'node1'], ['worker', 'node2'],
    ]);
    assert.deepEqual(res.all.map((x) => [x.env.G, x.env.L]), [['g', undefined], ...[1, 2, 3, 4].map(() => ['g', 'w'])]);
    // cores in rank order per host: on node1 ranks 0 and 3 get its first and second core
    assert.notEqual(res.all[0].cpus, res.all[3].cpus);
    assert.match(r.stdout, /^ {2}node1 +2 ranks: 0,3$/m);
    assert.match(r.stdout, /^ {2}node2 +2 ranks: 1,4$/m);
    assert.match(r.stdout, /^ {2}node3 +1 rank: +2$/m);
    for (const x of res.all) assert.match(r.stderr, new RegExp(`^\\[${x.host}\\] rank ${x.rank} bound to core ${x.cpus} \\(cpus ${x.cpus}\\)$`, 'm'));
    await assertClean('after an MPMD job');
  });

  test('a host\'s link goes down mid-job: ERR_PEER_LOST naming the host within ~10 s, never a hang, nothing left', async () => {
    const run = startOrchidrun([...base(), '--hosts', HOSTS4, JOB, 'traffic'], { timeoutMs: 60_000 });
    await run.waitFor(/^FLOWING /gm, 4, 30_000); // every rank has exchanged messages
    const t0 = Date.now();
    execFileSync('ip', ['link', 'set', c.hosts[2].veth, 'down']);
    try {
      const r = await run.result;
      const took = Date.now() - t0;
      assert.equal(r.hung, false, `hung:\n${r.stdout.slice(-1000)}\n${r.stderr}`);
      assert.ok(took < 12_000, `the job took ${took} ms to end`);
      assert.notEqual(r.code, 0);
      assert.match(launcherLines(r.stderr)[0], /^orchidrun: ERR_PEER_LOST: host node3 stopped answering .*; rank 2 lost/);
      // node3's proxy heard no heartbeat either and ended its ranks on its own
      assert.deepEqual(await waitHostsClean({ hosts: [c.hosts[2]] }, 15_000), [], 'node3 cleaned itself up');
    } finally {
      execFileSync('ip', ['link', 'set', c.hosts[2].veth, 'up']);
    }
    await assertClean('after a link went down');
  });
});

/** Listening TCP sockets in a namespace (or the root one): [{ addr, port, users }]. */
function listeners(ns) {
  const args = ns ? ['-n', ns, 'exec', 'ss', '-ltnpH'] : ['-ltnpH'];
  const out = execFileSync(ns ? 'ip' : 'ss', ns ? ['netns', 'exec', ns, 'ss', '-ltnpH'] : args, { encoding: 'utf8' });
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.trim().split(/\s+/);
      const local = f[3];
      const i = local.lastIndexOf(':');
      return { addr: local.slice(0, i), port: Number(local.slice(i + 1)), users: f.slice(5).join(' ') };
    });
}

describe('security on the emulated cluster', clusterSkip(), () => {
  before(() => {
    c = clusterUp(2);
  });
  after(() => c?.down());

  test('ranks and the coordinator listen on the advertised address only; random bytes and malformed frames do not stop the job', async () => {
    const { WebSocket } = await import('ws');
    const { connect } = await import('node:net');
    const run = startOrchidrun([...base(), '--hosts', 'node1:2,node2:2', JOB, 'work', '6'], { timeoutMs: 90_000 });
    // a rank prints WAIT after init(), which resolves only once every rank listens and registered
    const found = (await run.waitFor(/^WAIT (.*)$/gm, 4, 30_000)).map((m) => JSON.parse(m[1]));

    // who listens where: on each host only its own address (and sshd's), never a wildcard
    const targets = [];
    for (const [i, h] of c.hosts.entries()) {
      const ls = listeners(h.ns);
      for (const l of ls) assert.equal(l.addr, h.addr, `${h.name}: ${JSON.stringify(l)} listens beyond ${h.addr}`);
      const rankPorts = ls.filter((l) => /"node"/.test(l.users));
      assert.equal(rankPorts.length, 2, `${h.name}: two ranks listening: ${JSON.stringify(ls)}`);
      targets.push(...rankPorts.map((l) => ({ host: h.addr, port: l.port })));
      void i;
    }
    const coord = listeners().filter((l) => l.users.includes(`pid=${run.child.pid},`));
    assert.equal(coord.length, 1, `the launcher listens once (the coordinator): ${JSON.stringify(coord)}`);
    assert.equal(coord[0].addr, c.head, 'the coordinator listens on the head\'s cluster address only');
    targets.push({ host: c.head, port: coord[0].port, coordinator: true });

    const job = readFileSync(`/proc/${found[0].pid}/environ`, 'utf8').split('\0').find((e) => e.startsWith('ORCHID_JOB=')).slice(11);
    const rnd = (n) => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = (Math.random() * 256) | 0;
      return b;
    };
    const raw = (t, bytes) =>
      new Promise((resolve) => {
        const s = connect(t.port, t.host, () => s.write(bytes, () => setTimeout(() => s.destroy(), 200)));
        s.on('error', () => {});
        s.on('close', resolve);
        setTimeout(() => s.destroy(), 3000);
      });
    const wsFuzz = (t, headers, frames) =>
      new Promise((resolve) => {
        const ws = new WebSocket(`ws://${t.host}:${t.port}/`, { headers });
        ws.on('error', () => {});
        ws.on('open', () => {
          for (const f of frames) ws.send(f);
        });
        ws.on('close', resolve);
        ws.on('unexpected-response', () => resolve());
        setTimeout(() => {
          ws.terminate();
          resolve();
        }, 3000);
      });
    // a WebSocket frame header that announces far more than will ever come
    const bigHeader = Buffer.from([0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4]);
    const attacks = [];
    for (const t of targets) {
      attacks.push(raw(t, rnd(64 * 1024)));
      attacks.push(raw(t, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')));
      attacks.push(raw(t, Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${rnd(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nx-orchid-job: ${job}\r\n\r\n`)).then(() => undefined));
      attacks.push(raw(t, Buffer.concat([Buffer.from('{"t":"register","rank":0,"nonce":"AAAA","proof":"AAAA"}\n'), rnd(1024)])));
      if (!t.coordinator) {
        attacks.push(wsFuzz(t, { 'x-orchid-job': 'not-this-job' }, [rnd(100)]));
        attacks.push(wsFuzz(t, { 'x-orchid-job': job }, [rnd(40), rnd(4096), 'text', rnd(70_000)]));
        attacks.push(wsFuzz(t, { 'x-orchid-job': job }, [Buffer.alloc(64)]));
      }
    }
    // raw upgrade, then a frame header announcing 4 GiB and some bytes of it
    for (const t of targets.filter((x) => !x.coordinator)) {
      attacks.push(
        new Promise((resolve) => {
          const s = connect(t.port, t.host, () =>
            s.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${rnd(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nx-orchid-job: ${job}\r\n\r\n`),
          );
          s.once('data', () => s.write(Buffer.concat([bigHeader, rnd(128 * 1024)])));
          s.on('error', () => {});
          s.on('close', resolve);
          setTimeout(() => {
            s.destroy();
            resolve();
          }, 3000);
        }),
      );
    }
    await Promise.all(attacks);
    const r = await run.result;
    assert.equal(r.hung, false);
    assert.equal(r.code, 0, `the job failed under fuzzing:\n${r.stderr.slice(-3000)}`);
    assert.match(r.stdout, /^WORKED \d+ rounds$/m);
    await assertClean('after fuzzing');
  });
});
