// orchid doctor on this host (no cluster needed): the mpiexec on PATH against the MPI the addon
// is built against, and a host name that does not resolve. The cluster rows are in
// test/cluster-tools.test.mjs.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ORCHID, ROOT, orchidrun } from './helpers/run.mjs';

const orchid = (args, opts = {}) => orchidrun(args, { bin: ORCHID, cwd: ROOT, timeoutMs: 120_000, ...opts });
const { nativeStatus } = await import('../dist/transport/mpi/addon.js');
const st = nativeStatus();
const OPENMPI = '/usr/bin/mpiexec.openmpi';
const skip = st.available && st.flavor === 'mpich' && existsSync(OPENMPI) ? false : 'needs the addon built against MPICH and Open MPI installed';

async function withPath(links, body) {
  const dir = mkdtempSync(join(tmpdir(), 'orchid-doctor-'));
  try {
    for (const [name, target] of Object.entries(links)) symlinkSync(target, join(dir, name));
    return await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("doctor: Open MPI's mpiexec first on PATH while the addon is MPICH: a warning naming both and the command that works", { skip, timeout: 150_000 }, () =>
  withPath({ mpiexec: OPENMPI }, async (dir) => {
    const r = await orchid(['doctor'], { env: { PATH: `${dir}:${process.env.PATH}`, ORCHID_MPIEXEC: '' } });
    assert.equal(r.code, 0, r.stdout + r.stderr); // orchidrun --transport mpi still works
    assert.match(r.stdout, /^localhost\s+local\s.*\smpi \(mpich\), mpiexec is openmpi\s.*\sok$/m);
    const w = /^localhost: warning: (.*)$/m.exec(r.stdout);
    assert.ok(w, r.stdout);
    assert.match(w[1], new RegExp(`'mpiexec' on PATH \\(${dir}/mpiexec -> \\S+\\) is Open MPI's, but the MPI addon is built against MPICH`));
    assert.match(w[1], /run '\/\S+\/mpiexec\.(mpich|hydra) -n N node app\.js', or 'orchidrun --transport mpi -n N app\.js'/);
  }),
);

test("doctor: no mpiexec of the addon's MPI at all (only Open MPI's): a problem, exit 1", { skip, timeout: 150_000 }, () =>
  withPath({ mpiexec: OPENMPI, sh: '/bin/sh' }, async (dir) => {
    const r = await orchid(['doctor'], { env: { PATH: dir, ORCHID_MPIEXEC: '' } });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^localhost: the MPI addon is built against MPICH .*no MPICH mpiexec is on PATH \(found: .*mpiexec -> \S+ is Open MPI\): --transport mpi cannot run/m);
  }),
);

test('doctor: a host name that does not resolve: says so and how to fix it (no --iface, which doctor does not have)', { timeout: 150_000 }, async () => {
  const r = await orchid(['doctor', 'no-such-host.invalid']);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^no-such-host\.invalid: cannot resolve host no-such-host\.invalid: .*\/etc\/hosts.*hostfile/m);
  assert.doesNotMatch(r.stdout, /--iface/);
});

// An x86 head node and an arm64 board: the aarch64 lane (test/aarch64/lane.mjs) gives the arm64
// node and an install of orchid made by it; the row exists only then, as the conformance suite's
// mixed rows do. The arm64 node probes this host ("localhost", ORCHID_REMOTE_NODE).
const ARM64_NODE = process.env.ORCHID_ARM64_NODE;
const ARM64_ROOT = process.env.ORCHID_ARM64_ROOT;
if (ARM64_NODE && ARM64_ROOT)
  test('doctor: a host of another architecture (arm64 under this x64 head): the NODE column and a note say what works across them', { timeout: 300_000 }, async () => {
    // this checkout's addon is x86-64: the arm64 node cannot load it
    const ws = await orchid(['doctor', 'localhost'], { env: { ORCHID_REMOTE_NODE: ARM64_NODE } });
    assert.equal(ws.code, 0, ws.stdout + ws.stderr);
    assert.match(ws.stdout, new RegExp(`^localhost\\s+local\\s+${process.version.replace(/\./g, '\\.')} arm64\\s.*\\sws only\\b.*\\sok$`, 'm'));
    assert.match(ws.stdout, /^localhost: note: this host is x64, that one arm64: ws jobs run across them \(both little-endian\)$/m);
    assert.match(ws.stdout, /^localhost: note: the mpi transport is not available \(ws serves\): .*built for x86-64, but this node runs on arm64/m);
    // the arm64 build of the addon (what npm install on the board makes): mpi there, and what an mpi job needs
    const mpi = await orchid(['doctor', 'localhost'], { env: { ORCHID_REMOTE_NODE: ARM64_NODE, ORCHID_MPI_ADDON: join(ARM64_ROOT, 'build/Release/orchid_mpi.node') } });
    assert.equal(mpi.code, 0, mpi.stdout + mpi.stderr);
    assert.match(mpi.stdout, /^localhost\s+local\s+\S+ arm64\s.*\smpi \(mpich\)/m);
    assert.match(mpi.stdout, /^localhost: note: this host is x64, that one arm64: ws jobs run across them \(both little-endian\); an mpi job needs the same MPI and version on every host/m);
  });
