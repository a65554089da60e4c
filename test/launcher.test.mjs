// orchidrun end to end: real launcher, proxy and rank processes on this machine.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { launch } from 'orchid-mpi/launcher';
import { isAlive, orchidrun, ORCHID, RANK, startOrchidrun, waitDead } from './helpers/run.mjs';

const pidsOf = (text) => [...text.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
const ppidsOf = (text) => [...text.matchAll(/ppid (\d+)/g)].map((m) => Number(m[1]));

test('all ranks exit 0 -> 0, every rank ran with its env', async () => {
  const r = await orchidrun(['-n', '3', 'rank.mjs', 'env', 'x', 'y z']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.rank).sort(), [0, 1, 2]);
  const job = lines[0].env.ORCHID_JOB;
  for (const l of lines) {
    assert.deepEqual(l.args, ['x', 'y z']);
    assert.equal(l.env.ORCHID_SIZE, '3');
    assert.equal(l.env.ORCHID_RANK, String(l.rank));
    assert.equal(l.env.ORCHID_LOCAL_RANK, String(l.rank));
    assert.equal(l.env.ORCHID_LOCAL_SIZE, '3');
    assert.equal(l.env.ORCHID_JOB, job);
    assert.equal(l.env.ORCHID_TRANSPORT, 'ws');
    assert.equal(l.env.ORCHID_ADDR, '127.0.0.1');
    assert.equal(l.env.ORCHID_SECRET_FD, '3');
    assert.match(l.env.ORCHID_COORD, /^127\.0\.0\.1:\d+$/);
    assert.ok(l.env.ORCHID_HOST);
  }
});

test('the first failing rank decides the exit code; stderr names rank and host', async () => {
  const r = await orchidrun(['-n', '3', 'rank.mjs', 'exit', '2', '3']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /^orchidrun: rank 2 on host \S+ exited with code 3$/m);
  assert.equal(r.stderr.match(/orchidrun:/g).length, 1);
});

test('a rank killed by a signal -> 128+n', async () => {
  const r = await orchidrun(['-n', '2', 'rank.mjs', 'signal', '1', 'SIGKILL']);
  assert.equal(r.code, 137);
  assert.match(r.stderr, /orchidrun: rank 1 on host \S+ was killed by signal SIGKILL/);
});

test('an uncaught exception ends the job; the cause is quoted; the other ranks are killed', async () => {
  const r = await orchidrun(['-n', '3', 'rank.mjs', 'throw', '1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Error: boom from rank 1/);
  assert.match(r.stderr, /orchidrun: rank 1 on host \S+ exited with code 1 \(last stderr line: "Error: boom from rank 1"\)/);
});

test('a failing rank ends ranks that are still running, within seconds', async () => {
  const r = await orchidrun(['-n', '3', 'rank.mjs', 'fail-late', '0', '4'], { timeoutMs: 15_000 });
  assert.equal(r.hung, false);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /rank 0 on host \S+ exited with code 4 \(last stderr line: "rank 0 is failing on purpose"\)/);
  const pids = pidsOf(r.stdout);
  assert.equal(pids.length, 3);
  assert.deepEqual(await waitDead(pids, 3000), []);
});

test('a rank that ignores SIGTERM is killed after the grace time', async () => {
  const r = await orchidrun(['-n', '3', 'rank.mjs', 'stubborn', '2', '6'], { timeoutMs: 15_000 });
  assert.equal(r.code, 6);
  assert.deepEqual(await waitDead([...pidsOf(r.stdout), ...ppidsOf(r.stdout)], 3000), []);
});

test('a second Ctrl-C kills at once', async () => {
  const run = startOrchidrun(['-n', '2', 'rank.mjs', 'stubborn', '-1', '0']);
  await run.waitFor(/pid \d+ ppid \d+/g, 2);
  process.kill(run.child.pid, 'SIGINT');
  await new Promise((r) => setTimeout(r, 100));
  process.kill(run.child.pid, 'SIGINT');
  const r = await run.result;
  assert.equal(r.code, 130);
  assert.deepEqual(await waitDead([...pidsOf(r.stdout), ...ppidsOf(r.stdout)], 3000), []);
});

test('ranks register with the coordinator and get the table; abort(code) ends the job with code', async () => {
  const ok = await orchidrun(['-n', '3', 'rank.mjs', 'coord']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(ok.stdout.trim().split('\n').sort(), [0, 1, 2].map((r) => `rank ${r} table [0,1,2]`));

  const r = await orchidrun(['-n', '3', 'rank.mjs', 'coord', '1', '5']);
  assert.equal(r.code, 5);
  assert.match(r.stderr, /^orchidrun: rank 1 on host \S+ called abort\(5\): bad input$/m);
  assert.equal(r.stderr.match(/orchidrun:/g).length, 1);
  assert.match(r.stdout, /rank [02] heard abort 5: rank 1 on host \S+ called abort\(5\): bad input/);
});

for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  test(`${sig} to the launcher -> ${code}, no rank or proxy left`, async () => {
    const run = startOrchidrun(['-n', '3', 'rank.mjs', 'sleep']);
    await run.waitFor(/pid \d+ ppid \d+/g, 3);
    process.kill(run.child.pid, sig);
    const r = await run.result;
    assert.equal(r.code, code, r.stderr);
    assert.deepEqual(await waitDead([...pidsOf(r.stdout), ...ppidsOf(r.stdout)], 3000), []);
  });
}

test('launcher killed with SIGKILL: the proxy sees EOF and every rank dies', async () => {
  const run = startOrchidrun(['-n', '3', 'rank.mjs', 'sleep']);
  await run.waitFor(/pid \d+ ppid \d+/g, 3);
  const pids = [...pidsOf(run.stdout), ...ppidsOf(run.stdout)];
  assert.ok(pids.every(isAlive));
  process.kill(run.child.pid, 'SIGKILL');
  await run.result;
  assert.deepEqual(await waitDead(pids, 5000), []);
});

test('proxy killed with SIGKILL: its ranks die and the launcher reports it', async () => {
  const run = startOrchidrun(['-n', '2', 'rank.mjs', 'watch']);
  await run.waitFor(/pid \d+ ppid \d+/g, 2);
  const pids = pidsOf(run.stdout);
  const [proxy] = ppidsOf(run.stdout);
  process.kill(proxy, 'SIGKILL');
  const r = await run.result;
  assert.equal(r.code, 255);
  assert.match(r.stderr, /orchidrun: the proxy on host \S+ was killed by signal SIGKILL; ranks 0, 1 lost/);
  assert.deepEqual(await waitDead(pids, 5000), []);
});

test('8000 long lines from 4 ranks arrive whole and untorn', async () => {
  const N = 2000;
  const r = await orchidrun(['-n', '4', 'rank.mjs', 'lines', String(N), '2048', '10240'], { timeoutMs: 50_000 });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, 4 * N);
  const next = [0, 0, 0, 0];
  for (const line of lines) {
    const m = /^R(\d) L(\d+) N(\d+) ([a-z]*)\|E$/.exec(line);
    assert.ok(m, `torn line: ${line.slice(0, 80)}…`);
    const [rank, i, len] = [Number(m[1]), Number(m[2]), Number(m[3])];
    assert.equal(line.length + 1, len, `line ${i} of rank ${rank} has the wrong length`);
    assert.equal(i, next[rank]++, `rank ${rank}: lines out of order`);
    assert.equal(m[4], String.fromCharCode(97 + ((rank + i) % 26)).repeat(m[4].length));
  }
  assert.deepEqual(next, [N, N, N, N]);
});

test('-l / --tag-output prefixes every line with [rank]', async () => {
  const r = await orchidrun(['-l', '-n', '3', 'rank.mjs', 'hello']);
  assert.equal(r.code, 0);
  assert.deepEqual(r.stdout.trim().split('\n').sort(), ['[0] rank 0 of 3', '[1] rank 1 of 3', '[2] rank 2 of 3']);
  const p = await orchidrun(['-n', '2', 'rank.mjs', 'partial']);
  assert.deepEqual(p.stdout.split('\n').sort(), ['', 'rank 0 no newline', 'rank 1 no newline']);
});

test('stdin goes to rank 0 only', async () => {
  const r = await orchidrun(['-n', '3', 'rank.mjs', 'stdin'], { input: 'line one\nline two\n' });
  assert.equal(r.code, 0, r.stderr);
  const got = r.stdout.trim().split('\n').sort();
  assert.deepEqual(got, ['rank 0 read "line one\\nline two\\n"', 'rank 1 read ""', 'rank 2 read ""']);
});

test('--env, --export and --wdir reach the ranks', async () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'orchid-wdir-')));
  const r = await orchidrun(
    ['--env', 'OT_A=1', '--env=OT_B=x=y', '--export', 'OT_C,OT_D', '--wdir', dir, '-n', '2', RANK, 'env'],
    { env: { OT_C: 'c', OT_D: 'd', OT_E: 'inherited' } },
  );
  assert.equal(r.code, 0, r.stderr);
  for (const l of r.stdout.trim().split('\n').map((x) => JSON.parse(x))) {
    assert.equal(l.cwd, dir);
    assert.deepEqual(
      Object.fromEntries(Object.entries(l.env).filter(([k]) => k.startsWith('OT_'))),
      { OT_A: '1', OT_B: 'x=y', OT_C: 'c', OT_D: 'd', OT_E: 'inherited' },
    );
  }
});

test('a .ts script runs through tsx with no build step', async () => {
  const r = await orchidrun(['-n', '2', 'typed.ts']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').sort(), ['ts rank 0 of 2', 'ts rank 1 of 2']);
});

test('--timeout ends a sleeping job with 124', async () => {
  const r = await orchidrun(['--timeout', '2', '-n', '2', 'rank.mjs', 'sleep']);
  assert.equal(r.code, 124);
  assert.match(r.stderr, /^orchidrun: job timed out after 2 s$/m);
  assert.deepEqual(await waitDead(pidsOf(r.stdout), 3000), []);
});

test('bad arguments: exit 2 with a clear one-line message', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'orchid-hf-'));
  const hf = join(dir, 'hosts');
  writeFileSync(hf, '# cluster\nlocalhost:2\nlocalhost slots=x\n');
  const cases = [
    [['-n', '0', 'rank.mjs'], /-n must be a positive integer, got "0"/],
    [['-n', '2.5', 'rank.mjs'], /-n must be a positive integer/],
    [['-n', '2'], /no script given/],
    [['-n', '2', 'missing.js'], /script not found: missing\.js/],
    [['-f', join(dir, 'nope'), 'rank.mjs'], /cannot read hostfile .*nope: no such file/],
    [['-f', hf, 'rank.mjs'], new RegExp(`${hf}:3: bad hostfile line "localhost slots=x"`)],
    [['--frobnicate', 'rank.mjs'], /unknown option "--frobnicate"/],
    [['--transport', 'carrier-pigeon', 'rank.mjs'], /--transport must be auto, ws or mpi/],
    [['--transport', 'mpi', 'rank.mjs'], /the mpi transport is not available: the native addon is not built/],
    [['--timeout', 'soon', 'rank.mjs'], /--timeout must be a positive number/],
    [['--bootstrap', 'fork', '--hosts', 'faraway.example:2', 'rank.mjs'], /--bootstrap fork: host faraway\.example is not this host \(use ssh\)/],
    [['--bootstrap', 'slurm', 'rank.mjs'], /--bootstrap slurm: not inside a Slurm allocation/],
    [['--ssh', 'ssh -F "unclosed', '--hosts', 'faraway.example', 'rank.mjs'], /--ssh: unterminated " in/],
  ];
  await Promise.all(
    cases.map(async ([args, re]) => {
      // the mpi case is checked as on a machine without MPI (test/native.test.mjs covers the addon)
      const r = await orchidrun(args, { env: { ORCHID_MPI_ADDON: '/nonexistent/orchid_mpi.node' } });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^orchidrun: ${re.source}`), args.join(' '));
      assert.match(r.stderr, /--help/);
    }),
  );
});

test('orchid: run is orchidrun; --help lists the commands; unknown commands exit 2', async () => {
  const run = await orchidrun(['run', '-n', '2', 'rank.mjs', 'hello'], { bin: ORCHID });
  assert.equal(run.code, 0);
  assert.deepEqual(run.stdout.trim().split('\n').sort(), ['rank 0 of 2', 'rank 1 of 2']);
  const help = await orchidrun(['--help'], { bin: ORCHID });
  assert.equal(help.code, 0);
  for (const c of ['run', 'exec', 'doctor', 'ssh-setup', 'bench']) assert.match(help.stdout, new RegExp(`^  ${c}\\s`, 'm'));
  const bad = await orchidrun(['teleport'], { bin: ORCHID });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^orchid: unknown command "teleport"/);
  const nohosts = await orchidrun(['exec', '--', 'true'], { bin: ORCHID });
  assert.equal(nohosts.code, 2);
  assert.match(nohosts.stderr, /^orchid exec: no hosts: give --hosts LIST or -f HOSTFILE/);
  const h = await orchidrun(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /Usage: orchidrun/);
});

test('the job secret is on no command line and in no environment', async () => {
  const run = startOrchidrun(['-n', '2', 'rank.mjs', 'secret']);
  const found = await run.waitFor(/^\{.*\}$/gm, 2);
  const infos = found.map((m) => JSON.parse(m[0]));
  const secret = Buffer.from(infos[0].secret, 'base64');
  assert.equal(secret.length, 32);
  assert.equal(infos[1].secret, infos[0].secret);
  const needles = [secret.toString('base64'), secret.toString('hex'), secret.toString('base64url')];
  const pids = [run.child.pid, ...infos.map((i) => i.pid), infos[0].ppid];
  for (const pid of pids) {
    for (const f of ['cmdline', 'environ']) {
      const text = readFileSync(`/proc/${pid}/${f}`).toString('latin1');
      for (const n of needles) assert.ok(!text.includes(n), `secret found in /proc/${pid}/${f}`);
      assert.ok(!readFileSync(`/proc/${pid}/${f}`).includes(secret), `raw secret in /proc/${pid}/${f}`);
    }
  }
  process.kill(run.child.pid, 'SIGTERM');
  assert.equal((await run.result).code, 143);
});

test('launch(): output is buffered for a late consumer; done reports the result', async () => {
  const job = launch({ np: 3, script: RANK, args: ['hello'], tagOutput: true });
  const { code } = await job.done; // nothing read yet: every line must still be there
  assert.equal(code, 0);
  const lines = [];
  for await (const l of job.output) lines.push(l);
  assert.deepEqual(
    lines.map((l) => `${l.rank} ${l.stream} ${l.text}`).sort(),
    ['0 stdout [0] rank 0 of 3', '1 stdout [1] rank 1 of 3', '2 stdout [2] rank 2 of 3'],
  );

  const bad = launch({ np: 2, script: RANK, args: ['exit', '1', '7'] });
  const res = await bad.done;
  assert.equal(res.code, 7);
  assert.equal(res.failed.rank, 1);
  assert.equal(res.failed.cause, 'exited with code 7');

  const killed = launch({ np: 2, script: RANK, args: ['sleep'], stdin: 'no one reads this' });
  let seen = 0;
  for await (const l of killed.output) if (/^pid /.test(l.text) && ++seen === 2) killed.kill('SIGINT');
  assert.deepEqual(await killed.done, { code: 130, signal: 'SIGINT' });

  assert.throws(() => launch({ np: 0, script: RANK }), { code: 'ERR_ARG' });
});

test('an absurd rank count is refused before anything starts: one line with the limit and how to override it', async () => {
  const t0 = Date.now();
  const r = await orchidrun(['-n', '10000', 'rank.mjs', 'hello']);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.ok(Date.now() - t0 < 10_000, 'refused at once');
  const first = r.stderr.split('\n')[0];
  assert.match(first, /^orchidrun: -n 10000 puts 10000 ranks on host \S+, more than the limit of \d+ per host \(32 per core, \d+ cores? here\); set ORCHID_MAX_RANKS_PER_HOST=N \(0: no limit\) or give --oversubscribe to run it anyway$/);
  assert.ok(r.stderr.length < 600, `a short message: ${r.stderr.length} bytes`);
  const low = await orchidrun(['-n', '3', 'rank.mjs', 'hello'], { env: { ORCHID_MAX_RANKS_PER_HOST: '2' } });
  assert.equal(low.code, 2);
  assert.match(low.stderr, /^orchidrun: -n 3 puts 3 ranks on host \S+, more than the limit of 2 per host \(ORCHID_MAX_RANKS_PER_HOST=2\)/);
  const ok = await orchidrun(['-n', '3', 'rank.mjs', 'hello'], { env: { ORCHID_MAX_RANKS_PER_HOST: '3' } });
  assert.equal(ok.code, 0, ok.stderr);
  // the library's oversubscribe option (orchidrun --oversubscribe) lifts the limit
  process.env.ORCHID_MAX_RANKS_PER_HOST = '2';
  try {
    assert.throws(() => launch({ np: 3, script: RANK, args: ['hello'] }), { code: 'ERR_ARG' });
    const job = launch({ np: 3, script: RANK, args: ['hello'], oversubscribe: true });
    for await (const _ of job.output);
    assert.equal((await job.done).code, 0);
  } finally {
    delete process.env.ORCHID_MAX_RANKS_PER_HOST;
  }
});

test('rank lists in messages are short whatever the job size: ranges, then a count', async () => {
  const { formatRanks } = await import('../dist/launcher/rank-list.js');
  assert.equal(formatRanks([3]), '3');
  assert.equal(formatRanks([1, 2]), '1, 2');
  assert.equal(formatRanks([0, 1, 2, 3, 7, 9, 10, 11]), '0-3, 7, 9-11');
  assert.equal(formatRanks(Array.from({ length: 10000 }, (_, i) => i)), '0-9999');
  const evens = Array.from({ length: 5000 }, (_, i) => 2 * i);
  assert.equal(formatRanks(evens), '0, 2, 4, 6, 8, 10, 12, 14 … and 4992 more');
});
