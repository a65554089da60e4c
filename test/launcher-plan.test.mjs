// Hostfile parsing, placement and command-line parsing (no processes started).
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { parseHostfileText, parseHostList, placeRanks } from 'orchid-mpi/launcher';
import { parseRunArgs } from '../dist/cli/args.js';

test('hostfile: MPICH and Open MPI lines, comments, blank lines', () => {
  const text = [
    '# the VIM3 stack',
    'head:1        # the head node',
    '',
    'w1 slots=6',
    'w2 slots=6 max_slots=8',
    '   w3:6   ',
    'w4',
    '[fe80::1]:2',
    '192.168.1.20 slots=3',
  ].join('\n');
  assert.deepEqual(parseHostfileText(text, 'hosts'), [
    { name: 'head', slots: 1 },
    { name: 'w1', slots: 6 },
    { name: 'w2', slots: 6 },
    { name: 'w3', slots: 6 },
    { name: 'w4', slots: 1 },
    { name: 'fe80::1', slots: 2 },
    { name: '192.168.1.20', slots: 3 },
  ]);
});

test('hostfile: a bad line is an error naming file:line', () => {
  for (const [bad, line] of [
    ['a:2\nb:x\n', 2],
    ['a\n\n# c\nb slots=0\n', 4],
    ['a colour=blue\n', 1],
    ['a b\n', 1],
    ['a:-1\n', 1],
    ['node:2:3\n', 1],
  ]) {
    assert.throws(() => parseHostfileText(bad, 'cluster/hosts'), (e) => {
      assert.equal(e.code, 'ERR_ARG');
      assert.match(e.message, new RegExp(`^cluster/hosts:${line}: bad hostfile line`));
      return true;
    });
  }
  assert.throws(() => parseHostfileText('# nothing\n\n', 'empty'), /empty: the hostfile lists no hosts/);
});

test('--hosts lists', () => {
  assert.deepEqual(parseHostList('a,b:2,c'), [
    { name: 'a', slots: 1 },
    { name: 'b', slots: 2 },
    { name: 'c', slots: 1 },
  ]);
  assert.throws(() => parseHostList('a,,b'), /--hosts: bad host entry ""/);
  assert.throws(() => parseHostList('a:0'), /--hosts: bad host entry "a:0"/);
});

test('placement: block by slots, --ppn, oversubscription wraps, local ranks', () => {
  const hosts = parseHostList('a:2,b:3,c');
  const p = placeRanks(hosts);
  assert.equal(p.np, 6);
  assert.deepEqual(p.ranks.map((r) => r.host), ['a', 'a', 'b', 'b', 'b', 'c']);
  assert.deepEqual(p.ranks.map((r) => [r.localRank, r.localSize]), [[0, 2], [1, 2], [0, 3], [1, 3], [2, 3], [0, 1]]);
  assert.deepEqual(p.hosts.map((h) => [h.name, h.ranks]), [['a', [0, 1]], ['b', [2, 3, 4]], ['c', [5]]]);

  const over = placeRanks(parseHostList('a:2,b:1'), 7);
  assert.deepEqual(over.ranks.map((r) => r.host), ['a', 'a', 'b', 'a', 'a', 'b', 'a']);
  assert.deepEqual(over.hosts.map((h) => h.ranks), [[0, 1, 3, 4, 6], [2, 5]]);
  assert.deepEqual(over.ranks.map((r) => r.localRank), [0, 1, 0, 2, 3, 1, 4]);

  const ppn = placeRanks(parseHostList('a:4,b:4'), undefined, 1);
  assert.deepEqual(ppn.ranks.map((r) => r.host), ['a', 'b']);
  assert.deepEqual(placeRanks(parseHostList('a:4,b:4'), 3, 2).ranks.map((r) => r.host), ['a', 'a', 'b']);
});

test('placement: names of this machine are one host', () => {
  const p = placeRanks(parseHostList(`localhost:1,127.0.0.1:1,${hostname()}:1`));
  assert.equal(p.hosts.length, 1);
  assert.equal(p.hosts[0].local, true);
  assert.equal(p.hosts[0].name, 'localhost');
  assert.deepEqual(p.ranks.map((r) => [r.localRank, r.localSize]), [[0, 3], [1, 3], [2, 3]]);
  assert.equal(placeRanks(parseHostList('node7')).hosts[0].local, false);
});

test('command line: options stop at SCRIPT; mpiexec spellings', () => {
  const r = parseRunArgs(['-np', '4', '--hosts=a,b', '-ppn', '2', '-l', '--env', 'A=1', '--export', 'B', '--export=C,D',
    '--timeout', '2.5', '--wdir', '/tmp', '--transport', 'ws', 'app.ts', '-n', '9', '--help']);
  assert.deepEqual(r, {
    kind: 'run',
    options: {
      script: 'app.ts', args: ['-n', '9', '--help'], np: 4, hosts: 'a,b', ppn: 2, tagOutput: true,
      env: { A: '1' }, export: ['B', 'C,D'], timeout: 2.5, wdir: '/tmp', transport: 'ws',
    },
  });
  assert.equal(parseRunArgs(['-n=3', 'x.js']).options.np, 3);
  assert.deepEqual(parseRunArgs(['-n', '2', '--', '-weird.js', 'a']).options.args, ['a']);
  assert.deepEqual(parseRunArgs(['-h']), { kind: 'help' });
  assert.deepEqual(parseRunArgs(['--version']), { kind: 'version' });
  for (const [argv, re] of [
    [['-n', '0', 'x.js'], /-n must be a positive integer, got "0"/],
    [['-n', 'four', 'x.js'], /-n must be a positive integer/],
    [['-n'], /option -n needs a value/],
    [['-n', '2'], /no script given/],
    [['--nope', 'x.js'], /unknown option "--nope"/],
    [['--env', 'NOEQUALS'], /option --env needs a value/],
    [['--env', '=v', 'x.js'], /--env wants NAME=VALUE or NAME VALUE/],
    [['--timeout', '0', 'x.js'], /--timeout must be a positive number of seconds/],
    [['--bootstrap', 'pbs', 'x.js'], /--bootstrap must be fork, ssh or slurm/],
    [['-l=1', 'x.js'], /option -l takes no value/],
  ]) {
    assert.throws(() => parseRunArgs(argv), (e) => e.code === 'ERR_ARG' && re.test(e.message), argv.join(' '));
  }
});
