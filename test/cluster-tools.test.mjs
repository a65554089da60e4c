// orchid exec, ssh-setup and doctor on the emulated cluster (test/cluster/cluster.sh).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { clusterSkip, clusterUp } from './helpers/cluster.mjs';
import { ORCHID, orchidrun, ROOT } from './helpers/run.mjs';

let c;
const orchid = (args, opts = {}) => orchidrun(args, { bin: ORCHID, cwd: ROOT, timeoutMs: 60_000, ...opts });

describe('cluster tools on 3 emulated hosts', clusterSkip(), () => {
  before(() => {
    c = clusterUp(3);
  });
  after(() => c?.down());

  test('orchid exec: a shell command on every host at once, output tagged by host, a status per host', async () => {
    const ok = await orchid(['exec', '--ssh', c.ssh, '--hosts', 'node1,node2,node3', '--', 'hostname; echo to-stderr >&2']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(ok.stdout.trim().split('\n').sort(), ['node1: node1', 'node2: node2', 'node3: node3']);
    assert.equal(ok.stderr.match(/^node\d: to-stderr$/gm).length, 3);
    for (const h of ['node1', 'node2', 'node3']) assert.match(ok.stderr, new RegExp(`^orchid exec: ${h}  ok$`, 'm'));
    // at once: three 1-second sleeps take about one second
    const t0 = Date.now();
    const par = await orchid(['exec', '--ssh', c.ssh, '-f', c.hostfile, '--', 'sleep', '1']);
    assert.equal(par.code, 0, par.stderr);
    assert.ok(Date.now() - t0 < 2900, `took ${Date.now() - t0} ms`);

    const bad = await orchid(['exec', '--ssh', c.ssh, '--hosts', 'node1,node2,badkey', '--', 'test "$(hostname)" != node2']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^orchid exec: node1   ok$/m);
    assert.match(bad.stderr, /^orchid exec: node2   exit 1$/m);
    assert.match(bad.stderr, /^badkey: .*Permission denied \(publickey\)/m);
    assert.match(bad.stderr, /^orchid exec: badkey  ssh failed \(exit 255\)$/m);
    assert.match(bad.stderr, /^orchid exec: failed on 2 of 3 hosts$/m);

    const slow = await orchid(['exec', '--ssh', c.ssh, '--hosts', 'node1', '--timeout', '1', '--', 'sleep 30']);
    assert.equal(slow.code, 1);
    assert.match(slow.stderr, /^orchid exec: node1  killed by SIGKILL \(--timeout 1\)$/m);
  });

  test('orchid doctor: a table per host; exit 0 when all is well, 1 naming the problem otherwise', async () => {
    const good = await orchid(['doctor', '--ssh', c.ssh, 'node1', 'node2', 'node3']);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.match(good.stdout, /^HOST\s+SSH\s+NODE\s+ORCHID\s+TRANSPORT\s+CLOCK\s+PORTS\s+STATUS$/m);
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
    for (const h of ['node1', 'node2', 'node3']) {
      const row = new RegExp(`^${h}\\s+ok\\s+${process.version.replace(/\./g, '\\.')}\\s+${version.replace(/\./g, '\\.')}\\s+.*[+-]\\d+ ms\\s+to here ok, from here ok\\s+ok$`, 'm');
      assert.match(good.stdout, row);
    }

    const bad = await orchid(['doctor', '--ssh', c.ssh, '--hosts', 'node1,badkey']);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /^node1\s+ok\s.*\sok$/m);
    assert.match(bad.stdout, /^badkey\s+no\s.*PROBLEM$/m);
    assert.match(bad.stdout, /^badkey: ssh: .*Permission denied \(publickey\)/m);

    // this host without the MPI addon: ws serves, doctor says why, and that is no problem
    const ws = await orchid(['doctor', 'localhost'], { env: { ORCHID_MPI_ADDON: '/nonexistent/orchid_mpi.node' } });
    assert.equal(ws.code, 0, ws.stdout + ws.stderr);
    assert.match(ws.stdout, /^localhost\s+local\s.*\sws only\b.*\sok$/m);
    assert.match(ws.stdout, /^localhost: note: the mpi transport is not available \(ws serves\): /m);

    const nonode = await orchid(['doctor', '--ssh', c.ssh, 'node2'], { env: { ORCHID_REMOTE_NODE: '/nonexistent/node' } });
    assert.equal(nonode.code, 1);
    assert.match(nonode.stdout, /^node2: no node at \/nonexistent\/node \(node on PATH: .*\); set ORCHID_REMOTE_NODE$/m);
  });

  test('orchid ssh-setup: creates a key, installs it on each host with ssh-copy-id, proves a login with it alone', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'orchid-sshsetup-'));
    let agent;
    try {
      // a user who can log in some other way (here an agent holding the cluster key, standing
      // in for a password) but has no key of their own: an ssh_config without identities
      const cfg = readFileSync(c.sshConfig, 'utf8').split('\n').filter((l) => !/^\s*IdentityFile /.test(l)).join('\n');
      const fresh = join(tmp, 'ssh_config');
      writeFileSync(fresh, cfg.replace(/IdentitiesOnly yes/, 'IdentitiesOnly no'));
      const sock = join(tmp, 'agent.sock');
      agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
      for (let i = 0; i < 50; i++) {
        try {
          execFileSync('ssh-add', [join(c.dir, 'id_ed25519')], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const key = join(tmp, 'id_new');
      const r = await orchid(['ssh-setup', '--ssh', `ssh -F ${fresh}`, '-i', key, 'node1', 'node2'], { env: { SSH_AUTH_SOCK: sock, HOME: tmp } });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`^orchid ssh-setup: created the key ${key}$`, 'm'));
      assert.match(r.stdout, /^orchid ssh-setup: node1: ok, passwordless login with .* works$/m);
      assert.match(r.stdout, /^orchid ssh-setup: node2: ok, passwordless login with .* works$/m);
      const pub = readFileSync(`${key}.pub`, 'utf8').trim();
      for (const n of [1, 2]) assert.ok(readFileSync(join(c.dir, `node${n}`, 'home/.ssh/authorized_keys'), 'utf8').includes(pub), `node${n} has the key`);
      // the new key alone, no agent: works on node1 and node2, not on node3 (never set up)
      const noAgent = { ...process.env, SSH_AUTH_SOCK: '' };
      const login = (h) => execFileSync('ssh', ['-F', fresh, '-o', 'IdentitiesOnly=yes', '-i', key, h, 'hostname'], { env: noAgent, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      assert.equal(login('node1'), 'node1');
      assert.equal(login('node2'), 'node2');
      assert.throws(() => login('node3'));
      // a second run keeps the key and finds it installed
      const again = await orchid(['ssh-setup', '--ssh', `ssh -F ${fresh}`, '-i', key, '--hosts', 'node1'], { env: { SSH_AUTH_SOCK: sock, HOME: tmp } });
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /using the key/);
      // a host that cannot be reached: exit 1 naming it
      const bad = await orchid(['ssh-setup', '--ssh', `ssh -F ${fresh}`, '-i', key, 'unreachable'], { env: { SSH_AUTH_SOCK: sock, HOME: tmp } });
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^orchid ssh-setup: unreachable: ssh-copy-id failed/m);
    } finally {
      agent?.kill();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
