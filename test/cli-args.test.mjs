// orchidrun's mpiexec conventions at the parse level (no processes): MPMD sections (':' and
// -configfile), the Open MPI / MPICH aliases, --map-by node placement, core binding plans.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseHostList, placeRanks } from 'orchid-mpi/launcher';
import { parseRunArgs } from '../dist/cli/args.js';
import { assignCores, bindingReport, formatCpuList, hostCores, parseCpuList } from '../dist/launcher/binding.js';
import { jobMapLines } from '../dist/launcher/job-map.js';
import { planJob } from '../dist/launcher/job-plan.js';

const opts = (argv) => {
  const r = parseRunArgs(argv);
  assert.equal(r.kind, 'run');
  return r.options;
};
const argErr = (argv, re) =>
  assert.throws(() => parseRunArgs(argv), (e) => e.code === 'ERR_ARG' && re.test(e.message), `${argv.join(' ')} -> ${re}`);

test('MPMD: sections split at ":", each with its own -n, -env, script and args; -genv global', () => {
  const o = opts(['-genv', 'G', '1', '--timeout', '9', '-n', '1', '-env', 'L', 'a', 'a.mjs', '--x', '-n', '7', ':', '-n', '3', '--env', 'L=b', 'b.mjs', 'q', ':', 'c.mjs']);
  assert.deepEqual(o, {
    env: { G: '1' },
    timeout: 9,
    sections: [
      { np: 1, script: 'a.mjs', args: ['--x', '-n', '7'], env: { L: 'a' } },
      { np: 3, script: 'b.mjs', args: ['q'], env: { L: 'b' } },
      { script: 'c.mjs', args: [] },
    ],
  });
  // a global option in a later section is still global (as Hydra does)
  assert.deepEqual(opts(['-n', '1', 'a.mjs', ':', '-genv', 'G=2', '-l', 'b.mjs']).env, { G: '2' });
  assert.equal(opts(['-n', '1', 'a.mjs', ':', '-genv', 'G=2', '-l', 'b.mjs']).tagOutput, true);
  // one section: the plain form, -genv and -env merged
  assert.deepEqual(opts(['-genv', 'A', '1', '-env', 'B', '2', '-n', '2', 'x.js', 'y']), { script: 'x.js', args: ['y'], np: 2, env: { A: '1', B: '2' } });
});

test('MPMD: a bad section is an error naming it', () => {
  argErr(['-n', '1', 'a.mjs', ':', '-n', '0', 'b.mjs'], /^section 2: -n must be a positive integer, got "0"/);
  argErr(['-n', '1', 'a.mjs', ':', '-n', '2'], /^section 2: no script given/);
  argErr(['-n', '1', 'a.mjs', ':'], /^section 2: no script given after ":"/);
  argErr(['-n', '1', 'a.mjs', ':', ':', 'b.mjs'], /^section 2: no script given before ":"/);
  argErr([':', 'b.mjs'], /^section 1: no script given before ":"/);
  argErr(['a.mjs', ':', '--nope', 'b.mjs'], /^section 2: unknown option "--nope"/);
  argErr(['a.mjs', ':', '-n', ':', 'b.mjs'], /^section 2: option -n needs a value/);
  // planJob names the section (and its script) for what only it can check
  assert.throws(() => planJob({ sections: [{ np: 1, script: 'test/programs/mpmd/master.mjs' }, { np: 2, script: 'missing.mjs' }] }),
    (e) => e.code === 'ERR_ARG' && /^section 2 \(missing\.mjs\): script not found: missing\.mjs/.test(e.message));
  assert.throws(() => planJob({ sections: [{ np: 1, script: 'a.mjs' }, { np: 0, script: 'b.mjs' }] }), /: section 2 \(b\.mjs\): -n \(number of ranks\) must be a positive integer, got 0/);
  assert.throws(() => planJob({ sections: [{ np: 1, script: 'a.mjs' }, { np: 1 }] }), /: section 2: no script given/);
  assert.throws(() => planJob({ np: 2, sections: [{ script: 'a.mjs' }] }), /give each section its own np/);
});

test('MPMD: the plan numbers ranks across sections in order', () => {
  const p = planJob({ sections: [{ np: 1, script: 'test/programs/mpmd/master.mjs', args: ['m'] }, { np: 3, script: 'test/programs/mpmd/worker.mjs', env: { L: 'w' } }], hosts: 'localhost:4' });
  assert.equal(p.placement.np, 4);
  assert.deepEqual(p.apps.map((a) => [a.script.replace(/.*\//, ''), a.args, a.env, a.first, a.np]), [
    ['master.mjs', ['m'], {}, 0, 1],
    ['worker.mjs', [], { L: 'w' }, 1, 3],
  ]);
  const map = jobMapLines(p).join('\n');
  assert.match(map, /JOB MAP/);
  assert.match(map, /section 1: master\.mjs m: rank 0\n {2}section 2: worker\.mjs: ranks 1-3/);
});

test('-configfile: one section per line, # comments, quotes, continuation; errors name FILE:LINE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orchid-cf-'));
  const f = join(dir, 'cf');
  writeFileSync(f, ['# the master', '-n 1 -env L "a b" a.mjs \'x y\'   # one rank', '', '  # workers', '-n 3 b.mjs \\', '  tail', ''].join('\n'));
  assert.deepEqual(opts(['-genv', 'G', '1', '-configfile', f]), {
    env: { G: '1' },
    sections: [
      { np: 1, script: 'a.mjs', args: ['x y'], env: { L: 'a b' } },
      { np: 3, script: 'b.mjs', args: ['tail'] },
    ],
  });
  writeFileSync(f, '-n 1 a.mjs\n-n 0 b.mjs\n');
  argErr(['-configfile', f], new RegExp(`^section 2 \\(${f}:2\\): -n must be a positive integer, got "0"`));
  writeFileSync(f, '-n 1 a.mjs\n-n 2\n');
  argErr(['-configfile', f], new RegExp(`^section 2 \\(${f}:2\\): no script given`));
  writeFileSync(f, '# nothing\n\n');
  argErr(['-configfile', f], /the file has no sections/);
  argErr(['-configfile', join(dir, 'none')], /-configfile .*none: cannot read it: no such file/);
  writeFileSync(f, 'a.mjs\n');
  argErr(['-configfile', f, 'b.mjs'], /nothing may follow it on the command line \(found "b\.mjs"\)/);
  argErr(['-n', '2', '-configfile', f], /give every section .* in the file/);
});

test('aliases: -genv K V, -x K[=V], -H/--host, -machinefile, -N/--npernode, --map-by, --bind-to, flags', () => {
  assert.deepEqual(opts(['-genv', 'A', 'one two', '-genv', 'B=2', 'x.js']).env, { A: 'one two', B: '2' });
  const x = opts(['-x', 'HOME', '-x', 'A=b,c', '--export', 'P,Q', 'x.js']);
  assert.deepEqual(x.export, ['HOME', 'P,Q']);
  assert.deepEqual(x.env, { A: 'b,c' });
  for (const f of ['-H', '--host', '-host', '--hosts']) assert.equal(opts([f, 'a,b:2', 'x.js']).hosts, 'a,b:2');
  for (const f of ['-machinefile', '--machinefile', '-f', '--hostfile']) assert.equal(opts([f, 'hf', 'x.js']).hostfile, 'hf');
  for (const f of ['-N', '--npernode', '-npernode', '--ppn']) assert.equal(opts([f, '3', 'x.js']).ppn, 3);
  assert.equal(opts(['--map-by', 'node', 'x.js']).mapBy, 'node');
  assert.equal(opts(['--map-by=slot', 'x.js']).mapBy, 'slot');
  assert.equal(opts(['--bind-to', 'core', 'x.js']).bindTo, 'core');
  assert.equal(opts(['-bind-to', 'none', 'x.js']).bindTo, 'none');
  const flags = opts(['--display-map', '--report-bindings', '--oversubscribe', '--output-filename', 'out', 'x.js']);
  assert.deepEqual([flags.displayMap, flags.reportBindings, flags.oversubscribe, flags.outputFilename], [true, true, true, 'out']);
  assert.equal(planJob({ script: 'test/programs/mpmd/master.mjs', oversubscribe: true, np: 1 }).oversubscribe, true);
  argErr(['--map-by', 'core', 'x.js'], /--map-by must be node or slot, got "core"/);
  argErr(['--bind-to', 'socket', 'x.js'], /--bind-to must be core or none, got "socket"/);
  argErr(['-genv', 'A'], /option -genv needs a value/);
  argErr(['-x', '1BAD', 'x.js'], /-x: bad variable name "1BAD"/);
  argErr(['-x', 'ORCHID_TEST_SURELY_UNSET', 'x.js'], /^-x ORCHID_TEST_SURELY_UNSET: ORCHID_TEST_SURELY_UNSET is not set in the environment \(give -x ORCHID_TEST_SURELY_UNSET=VALUE\)/);
  argErr(['-genv', 'A-B', '1', 'x.js'], /-genv: bad variable name "A-B"/);
  argErr(['--display-map=1', 'x.js'], /option --display-map takes no value/);
  argErr(['--bind-too', 'core', 'x.js'], /unknown option "--bind-too"/);
  argErr(['-X', 'A', 'x.js'], /unknown option "-X"/);
});

test('--map-by node: one rank per host round-robin, full hosts skipped, then wrapping', () => {
  const hosts = parseHostList('a:2,b:1,c:2');
  assert.deepEqual(placeRanks(hosts, 5, undefined, 'node').ranks.map((r) => r.host), ['a', 'b', 'c', 'a', 'c']);
  assert.deepEqual(placeRanks(hosts, 7, undefined, 'node').ranks.map((r) => r.host), ['a', 'b', 'c', 'a', 'c', 'a', 'b']);
  const p = placeRanks(parseHostList('a,b'), 4, 2, 'node');
  assert.deepEqual(p.hosts.map((h) => [h.name, h.ranks]), [['a', [0, 2]], ['b', [1, 3]]]);
  assert.deepEqual(p.ranks.map((r) => r.localRank), [0, 0, 1, 1]);
  // slot (the default) is unchanged
  assert.deepEqual(placeRanks(hosts, 5).ranks.map((r) => r.host), ['a', 'a', 'b', 'c', 'c']);
});

test('--bind-to core: cores from sysfs, hardware threads together, big cores first on big.LITTLE, wrapping', () => {
  assert.deepEqual(parseCpuList('0-2,5,7-8'), [0, 1, 2, 5, 7, 8]);
  assert.equal(formatCpuList([8, 0, 1, 2, 5, 7]), '0-2,5,7-8');
  // a VIM3-like board: cpus 0-1 are A53 (LITTLE), 2-5 A73 (big)
  const sys = mkdtempSync(join(tmpdir(), 'orchid-sys-'));
  const cpu = (n, core, cap, khz) => {
    mkdirSync(join(sys, `cpu${n}`, 'topology'), { recursive: true });
    mkdirSync(join(sys, `cpu${n}`, 'cpufreq'), { recursive: true });
    writeFileSync(join(sys, `cpu${n}`, 'topology', 'core_id'), `${core}\n`);
    writeFileSync(join(sys, `cpu${n}`, 'topology', 'physical_package_id'), '0\n');
    if (cap) writeFileSync(join(sys, `cpu${n}`, 'cpu_capacity'), `${cap}\n`);
    writeFileSync(join(sys, `cpu${n}`, 'cpufreq', 'cpuinfo_max_freq'), `${khz}\n`);
  };
  for (const n of [0, 1]) cpu(n, n, 592, 1800000);
  for (const n of [2, 3, 4, 5]) cpu(n, n, 1024, 2208000);
  const cores = hostCores([0, 1, 2, 3, 4, 5], sys);
  assert.deepEqual(cores.map((c) => [c.id, c.kind]), [[2, 'big'], [3, 'big'], [4, 'big'], [5, 'big'], [0, 'LITTLE'], [1, 'LITTLE']]);
  const got = assignCores(8, cores);
  assert.deepEqual(got.map((c) => c.id), [2, 3, 4, 5, 0, 1, 2, 3]);
  assert.equal(bindingReport(0, got[0], [0, 1, 2, 3, 4, 5], 'vim3'), '[vim3] rank 0 bound to core 2 (cpus 2; big core, 2208 MHz)');
  assert.equal(bindingReport(4, got[4], [0, 1, 2, 3, 4, 5], 'vim3'), '[vim3] rank 4 bound to core 0 (cpus 0; LITTLE core, 1800 MHz)');
  assert.equal(bindingReport(1, undefined, [0, 1], 'h'), '[h] rank 1 is not bound (cpus 0-1)');
  // two hardware threads per core: one core is both; a cpuset that allows only some cpus
  const smt = mkdtempSync(join(tmpdir(), 'orchid-sys-'));
  for (const [n, core] of [[0, 0], [1, 1], [2, 0], [3, 1]]) {
    mkdirSync(join(smt, `cpu${n}`, 'topology'), { recursive: true });
    writeFileSync(join(smt, `cpu${n}`, 'topology', 'core_id'), `${core}\n`);
  }
  assert.deepEqual(hostCores([0, 1, 2, 3], smt).map((c) => [c.id, c.cpus, c.kind]), [[0, [0, 2], undefined], [1, [1, 3], undefined]]);
  assert.deepEqual(hostCores([1, 3], smt).map((c) => c.cpus), [[1, 3]]);
});

test('orchidrun --help shows every mpiexec convention', async () => {
  const { RUN_HELP } = await import('../dist/cli/usage.js');
  for (const flag of ['-configfile FILE', ' : ', '-genv K V', '-env K V', '-x K[=V]', '-H, --host', '-machinefile', '-N, --npernode',
    '--map-by slot|node', '--display-map', '--bind-to core|none', '--report-bindings', '--oversubscribe', '--output-filename DIR', 'big.LITTLE']) {
    assert.ok(RUN_HELP.includes(flag), `--help mentions ${flag}`);
  }
});

test('--trace DIR, --profile[=FILE], --live[=PORT]: parsed, bad values named', () => {
  const a = opts(['--trace', 'out', '--profile', '--live', 'x.js']);
  assert.deepEqual([a.trace, a.profile, a.live, a.script], ['out', true, true, 'x.js']);
  const b = opts(['--trace=o2', '--profile=p.json', '--live=8123', 'x.js']);
  assert.deepEqual([b.trace, b.profile, b.live], ['o2', 'p.json', 8123]);
  // a value-less --profile does not eat the script
  assert.equal(opts(['--profile', 'app.js', 'arg']).script, 'app.js');
  argErr(['--trace'], /option --trace needs a value/);
  argErr(['--live=http', 'x.js'], /--live=PORT: a port number 0-65535, got "http"/);
  argErr(['--live=70000', 'x.js'], /--live=PORT: a port number/);
  argErr(['--profile=', 'x.js'], /--profile= needs a file name/);
});
