// The addon as the native tests see it, and the fast-paths job (test/native/fast-paths.mjs
// under the addon's mpiexec, 2 ranks) that native-fast and native-memory both read.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, run } from './run.mjs';

const { loadAddon } = await import('../../dist/transport/mpi/addon.js');
const { findMpiexec } = await import('../../dist/launcher/mpiexec.js');
export const { addon, error } = loadAddon();
export { findMpiexec };
/** The skip of a test that needs the addon: none in CI, where a missing addon is a failure. */
export const needsAddon = process.env.CI ? false : addon ? false : `the addon is not built: ${error}`;

/** Rank 0's report of test/native/fast-paths.mjs on 2 ranks. */
export async function fastPaths(env = {}) {
  const extra = addon.flavor === 'openmpi' ? ['--oversubscribe', '--allow-run-as-root'] : [];
  const r = await run(findMpiexec(addon.flavor).path, ['-n', '2', ...extra, process.execPath, join(ROOT, 'test/native/fast-paths.mjs')], {
    env: { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', ...env },
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}
