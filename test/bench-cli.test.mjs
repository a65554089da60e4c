// orchid bench end to end: bad flags, `bench --quick --profile` (results.json against its
// schema, each kernel run's communication share, reports), `bench compare`, Ctrl-C keeping partial results, and report.html rendered by
// headless Chromium into a screenshot whose pixels show the charts.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { test } from 'node:test';

const ORCHID = fileURLToPath(new URL('../dist/cli/orchid.js', import.meta.url));
const { validateResults } = await import('../dist/bench/schema.js');
const CI = Boolean(process.env.CI);
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const tmp = () => mkdtempSync(join(tmpdir(), 'orchid-bench-test-'));

function orchid(args, { timeoutMs = 240_000 } = {}) {
  const r = spawnSync(process.execPath, [ORCHID, ...args], { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, CI: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

test('bad flags are clear errors with exit status 2', () => {
  const cases = [
    [['bench', '--bogus'], /orchid bench: unknown option "--bogus"/],
    [['bench', '-n', '0'], /-n must be a positive integer, got "0"/],
    [['bench', '--transport', 'carrier-pigeon'], /--transport must be ws, mpi or all/],
    [['bench', '--out'], /option --out needs a value/],
    [['bench', '--profile=x'], /option --profile takes no value/],
    [['bench', '--skip', 'kernels,nope'], /--skip: unknown part "nope"/],
    [['bench', '--hostfile', '/nonexistent/hosts'], /no such file/],
    [['bench', '--hosts', 'a', '--hostfile', '/etc/hostname'], /either --hosts or --hostfile/],
    [['bench', 'extra'], /unexpected argument "extra"/],
    [['bench', 'compare'], /at least one results\.json/],
    [['bench', 'compare', '/nonexistent.json'], /cannot read results/],
  ];
  for (const [args, re] of cases) {
    const r = orchid(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.match(r.stderr, /Try 'orchid bench --help'/);
  }
  const h = orchid(['bench', '--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /orchid bench compare A\.json B\.json/);
  const top = orchid(['--help']);
  assert.match(top.stdout, /bench {6}run the benchmarks \(see "orchid bench --help"\)/);
});

const dir = tmp();
const out = join(dir, 'a');
let quick;

test('bench --quick --profile writes results.json that matches its schema, report.md and report.html', { timeout: 280_000 }, () => {
  const t0 = Date.now();
  const r = orchid(['bench', '--quick', '--profile', '-n', '2', '--transport', 'all', '--out', out, '--label', 'here-x2'], { timeoutMs: 270_000 });
  const secs = (Date.now() - t0) / 1000;
  assert.ok(r.code === 0, `exit ${r.code} ${r.signal ?? ''} after ${secs}s\n${r.stderr.slice(-3000)}`);
  assert.doesNotMatch(r.stderr, /\r|\x1b\[/, 'no progress bar when not a terminal / under CI');
  quick = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.deepEqual(validateResults(quick), []);
  assert.equal(quick.label, 'here-x2');
  assert.equal(quick.partial, false);
  assert.deepEqual(quick.rankCounts, [1, 2]);
  assert.deepEqual(quick.failures, []);
  assert.ok(quick.environment.transports.includes('ws'));
  const ms = quick.measurements;
  // kernels: 5 x strong and weak at 1 and 2 ranks, all verified, with speedups
  for (const scaling of ['strong', 'weak']) {
    for (const k of ['pi', 'matmul', 'stencil', 'sort', 'primes']) {
      for (const ranks of [1, 2]) {
        const m = ms.find((x) => x.kernel === k && x.scaling === scaling && x.ranks === ranks && x.transport === 'ws');
        assert.ok(m, `${k} ${scaling} ${ranks}`);
        assert.equal(m.verified, true, m.detail);
        assert.ok(m.speedup > 0 && m.efficiency > 0);
      }
    }
  }
  const hybrid = ms.filter((x) => x.scaling === 'hybrid');
  assert.ok(hybrid.some((x) => x.ranks === 1 && x.threads === 2) || hybrid.some((x) => x.ranks === 1 && x.threads >= 1));
  assert.ok(hybrid.every((x) => x.verified));
  // ping-pong 8 B .. 4 MB and the collectives at 2 ranks
  const pp = ms.filter((x) => x.benchmark === 'pingpong-latency' && x.impl === 'orchid').map((x) => x.size);
  assert.equal(Math.min(...pp), 8);
  assert.equal(Math.max(...pp), 4 * 1024 * 1024);
  for (const b of ['bcast', 'allreduce', 'alltoall', 'barrier']) assert.ok(ms.some((x) => x.benchmark === b && x.ranks === 2), b);
  assert.ok(ms.filter((x) => x.kind === 'single').length >= 10);
  if (has('mpicc') && has('mpiexec')) {
    assert.ok(ms.some((x) => x.impl === 'c-mpi' && x.benchmark === 'pingpong-latency'), 'C reference rows');
    assert.ok(ms.some((x) => x.impl === 'orchid' && x.benchmark === 'pingpong-latency' && x.ratioToC > 0), 'ratio to C');
    assert.ok(quick.environment.mpi?.library);
  } else {
    assert.ok(!CI, 'mpicc/mpiexec are installed in CI by .ci/run');
    console.log('# C MPI reference not checked: install mpich libmpich-dev (mpicc, mpiexec)');
  }
  // --profile: every kernel run carries its communication share; at 2 ranks a communicating
  // kernel spends some, never all, of its time in orchid calls (stencil: its halo rows, exactly)
  assert.equal(quick.profiled, true);
  assert.ok(ms.filter((x) => x.kind === 'kernel').every((x) => x.profile), 'a profile on every kernel row');
  assert.ok(ms.filter((x) => x.kind !== 'kernel').every((x) => x.profile === undefined));
  for (const t of quick.environment.transports) {
    const st = ms.find((x) => x.kernel === 'stencil' && x.scaling === 'strong' && x.ranks === 2 && x.transport === t);
    assert.ok(st.profile.share > 0 && st.profile.share < 1 && st.profile.maxShare < 1, `stencil on ${t}: ${JSON.stringify(st.profile)}`);
    assert.equal(st.profile.sentMsgs, 2 * 50 * st.repeats, `stencil on ${t}: one halo row each way per sweep`);
    assert.deepEqual(st.profile.calls.map((c) => c.call).sort(), ['allreduce', 'barrier', 'recv', 'send']);
  }
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  const share = md.split('## Communication share')[1]?.split('\n## ')[0];
  assert.ok(share, 'report.md has the Communication share section');
  assert.match(share, /\| kernel \| scaling \| transport \| 1 rank \| 2 ranks \|/);
  for (const t of quick.environment.transports) assert.match(share, new RegExp(`\\| stencil \\| strong \\| ${t} \\| [0-9.]+% \\| [0-9.]+%`), `the stencil row on ${t}`);
  const st2 = ms.find((x) => x.kernel === 'stencil' && x.scaling === 'strong' && x.ranks === 2 && x.transport === 'ws');
  assert.match(share, new RegExp(`\\| stencil \\| strong \\| ws \\| 2 ranks \\|( [^|]+\\|){4} (recv|send) [0-9.]+% ×${2 * 50 * st2.repeats}, `), 'the detail row names the halo exchange');
  assert.match(md, /## Kernels/);
  assert.match(md, /## Point-to-point/);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(html, /<h2>Communication share<\/h2>/);
  assert.ok((html.match(/<svg /g) ?? []).length >= 8, 'charts in report.html');
  assert.doesNotMatch(html, /<script|<link|src="http|href="http/, 'no scripts, no CDN');
  console.log(`# bench --quick took ${secs.toFixed(0)} s`);
});

test('bench compare puts two results side by side', () => {
  assert.ok(quick, 'needs the --quick run');
  const b = { ...quick, label: 'other-x2', measurements: quick.measurements.map((m) => ({ ...m, median: m.median * 1.5 })) };
  const bFile = join(dir, 'b.json');
  writeFileSync(bFile, JSON.stringify(b));
  const cmp = join(dir, 'cmp');
  const r = orchid(['bench', 'compare', join(out, 'results.json'), bFile, '--out', cmp]);
  assert.equal(r.code, 0, r.stderr);
  const md = readFileSync(join(cmp, 'report.md'), 'utf8');
  assert.match(md, /# orchid bench: here-x2 vs other-x2/);
  assert.match(md, /\| label \| here-x2 \| other-x2 \|/);
  const html = readFileSync(join(cmp, 'report.html'), 'utf8');
  assert.match(html, /here-x2 · pi/);
  assert.match(html, /other-x2 · pi/);
  assert.match(html, /other-x2 · orchid ws/);
  assert.match(md, /## Communication share\n[^#]*\| label \| kernel \| scaling \| transport \|[^#]*\| other-x2 \| stencil \| strong \| ws \|/);
  // a file that is not a results file is refused with its name
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ schema: 'something-else' }));
  const r2 = orchid(['bench', 'compare', join(out, 'results.json'), bad]);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /bad\.json: not an orchid bench results file/);
});

// ---- a tiny PNG reader (8-bit RGB/RGBA, non-interlaced: what Chromium writes) ----
function readPng(buf) {
  assert.equal(buf.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'PNG signature');
  let off = 8;
  let w = 0, h = 0, depth = 0, type = 0;
  const idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const kind = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (kind === 'IHDR') {
      w = data.readUInt32BE(0);
      h = data.readUInt32BE(4);
      depth = data[8];
      type = data[9];
      assert.equal(data[12], 0, 'non-interlaced');
    } else if (kind === 'IDAT') idat.push(data);
    else if (kind === 'IEND') break;
    off += 12 + len;
  }
  assert.equal(depth, 8);
  const bpp = type === 6 ? 4 : type === 2 ? 3 : assert.fail(`PNG colour type ${type}`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = w * bpp;
  const px = Buffer.alloc(h * stride);
  for (let y = 0; y < h; y++) {
    const f = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? px[y * stride + x - bpp] : 0;
      const b = y > 0 ? px[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y > 0 ? px[(y - 1) * stride + x - bpp] : 0;
      let v = line[x];
      if (f === 1) v += a;
      else if (f === 2) v += b;
      else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      px[y * stride + x] = v & 255;
    }
  }
  return { w, h, bpp, px };
}

test('report.html rendered by headless Chromium shows the charts', { timeout: 120_000 }, async (t) => {
  assert.ok(quick, 'needs the --quick run');
  const chromium = ['chromium', 'chromium-browser', 'google-chrome'].find(has);
  if (!chromium) {
    assert.ok(!CI, 'chromium is installed in CI by .ci/run');
    t.skip('install chromium (apt-get install chromium) to render report.html');
    return;
  }
  const shot = join(dir, 'shot.png');
  const r = spawnSync(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
    `--user-data-dir=${tmp()}`, `--screenshot=${shot}`, '--window-size=1200,1600', `file://${join(out, 'report.html')}`], { encoding: 'utf8', timeout: 90_000 });
  assert.ok(existsSync(shot), `no screenshot: ${r.stderr}`);
  const { w, h, bpp, px } = readPng(readFileSync(shot));
  assert.equal(w, 1200);
  assert.equal(h, 1600);
  // the series colours of src/bench/svg.ts PALETTE: lines and points of the charts
  const { PALETTE } = await import('../dist/bench/svg.js');
  const palette = PALETTE.map((h) => [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)]);
  const perColour = new Array(palette.length).fill(0);
  const colours = new Set();
  let nonWhite = 0;
  for (let i = 0; i < w * h * bpp; i += bpp) {
    const [r8, g8, b8] = [px[i], px[i + 1], px[i + 2]];
    colours.add((r8 << 16) | (g8 << 8) | b8);
    if (r8 < 245 || g8 < 245 || b8 < 245) nonWhite++;
    const k = palette.findIndex(([r, g, b]) => Math.abs(r8 - r) < 10 && Math.abs(g8 - g) < 10 && Math.abs(b8 - b) < 10);
    if (k >= 0) perColour[k]++;
  }
  const seriesPixels = perColour.reduce((a, b) => a + b, 0);
  const visibleColours = perColour.filter((n) => n > 100).length;
  console.log(`# screenshot ${w}x${h}: ${colours.size} colours, ${nonWhite} non-white, ${seriesPixels} series pixels in ${visibleColours} series colours`);
  assert.ok(nonWhite > 0.03 * w * h, 'not blank');
  assert.ok(colours.size > 50, 'more than a few colours');
  assert.ok(seriesPixels > 2000 && visibleColours >= 4, `chart lines visible (${perColour.join(', ')})`);
});

test('Ctrl-C stops cleanly and keeps what finished (partial results, exit 130)', { timeout: 120_000 }, async () => {
  const pout = join(dir, 'partial');
  const child = spawn(process.execPath, [ORCHID, 'bench', '--quick', '-n', '2', '--skip', 'c', '--out', pout], { env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  const stepDone = new Promise((resolve) => child.stderr.on('data', (s) => {
    stderr += s;
    if (/\[1\/\d+\]/.test(stderr)) resolve();
  }));
  const code = new Promise((resolve) => child.on('exit', (c, sig) => resolve(c ?? sig)));
  await Promise.race([stepDone, code]);
  child.kill('SIGINT');
  assert.equal(await code, 130, stderr);
  assert.match(stderr, /SIGINT: stopping; keeping what finished/);
  const res = JSON.parse(readFileSync(join(pout, 'results.json'), 'utf8'));
  assert.deepEqual(validateResults(res), []);
  assert.equal(res.partial, true);
  assert.ok(res.measurements.length > 0);
  assert.ok(existsSync(join(pout, 'report.html')));
  // no rank left behind
  await new Promise((r) => setTimeout(r, 500));
  const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  assert.doesNotMatch(ps, new RegExp(`bench/rank\\.js.*${pout.replace(/[/.]/g, '.')}`));
});
