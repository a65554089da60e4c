// Packaging: `npm ci` in a clean clone prints no "install scripts not covered by allowScripts"
// notice. npm (11.x: `npm approve-scripts`) lists the dependencies whose install scripts run
// without review; package.json's `allowScripts` field approves the two that need theirs
// (esbuild, through tsx, checks its platform binary; msgpackr-extract builds or picks its
// native accelerator for msgpackr). Checked against the installed tree, as npm ci sees it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers/run.mjs';

const npm = (args, cwd) => spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, npm_config_update_notifier: 'false' } });
const hasApprove = /approve-scripts/.test(npm(['help', 'approve-scripts'], ROOT).stdout ?? '');

test('every dependency install script is covered by allowScripts (no notice on npm ci)', { skip: hasApprove ? false : 'this npm has no allowScripts (npm approve-scripts)', timeout: 150_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'orchid-npm-'));
  try {
    cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    cpSync(join(ROOT, 'package-lock.json'), join(dir, 'package-lock.json'));
    symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(dir, 'node_modules'));
    const r = npm(['approve-scripts', '--allow-scripts-pending'], dir);
    const out = `${r.stdout}${r.stderr}`;
    assert.equal(r.status, 0, out);
    assert.match(out, /No packages with unreviewed install scripts/, out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
