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

  test('an unreachable host: a clear error naming it, within the connect timeout', async () => {
    const t0 = Date.now();
    const r = await orchidrun([...base(), '--hosts', 'node1,unreachable', RANK, 'sleep'], { timeoutMs: 30_000, env: { ORCHID_SSH_CONNECT_TIMEOUT: '2' } });
    const took = Date.now() - t0;
    assert.ok(took < 8000, `took ${took} ms`);
    assert.equal(r.code, 255, r.stderr);
    assert.match(launcherLines(r.stderr)[0], /^orchidrun: cannot start the proxy on host unreachable over ssh \(ssh exit 255\): ssh: connect to host 10\.77\.0\.250 port 22: Connection timed out/);
    await assertClean('after an unreachable host');
  });

  test('a host\'s link goes down mid-job: ERR_PEER_LOST naming the host within ~10 s, never a hang, nothing left', async () => {
    const run = startOrchidrun([...base(), '--hosts', HOSTS4, JOB, 'traffic'], { timeoutMs: 60_000 });
    await run.waitFor(/^WAIT /gm, 4, 30_000);
    await new Promise((r) => setTimeout(r, 500)); // messages are flowing
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
