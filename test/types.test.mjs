// The published types: a fresh TypeScript project with only orchid-mpi's package (its
// package.json and dist/, copied as npm would install them), typescript and @types/node in
// its node_modules, and a tsconfig that brings in no types of its own ("types": []), compiles
// test/types/consumer.ts: orchid's .d.ts bring Node's types (Buffer, NodeJS.*) themselves,
// custom ops and waitAny are typed by the values, abort() returns never. The consumer's
// `@ts-expect-error` lines must be errors (an unused one fails the build too).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers/run.mjs';

// the dev dependencies of the checkout (node_modules may be a symlink to a shared install)
const MODULES = realpathSync(join(ROOT, 'node_modules'));

test('the published .d.ts compile in a fresh consumer project (types: []), with typed ops, waitAny and abort', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'orchid-types-'));
  try {
    const nm = join(dir, 'node_modules');
    const pkg = join(nm, 'orchid-mpi');
    mkdirSync(pkg, { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    cpSync(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') });
    mkdirSync(join(nm, '@types'), { recursive: true });
    symlinkSync(join(MODULES, 'typescript'), join(nm, 'typescript'));
    symlinkSync(join(MODULES, '@types/node'), join(nm, '@types/node'));
    assert.ok(existsSync(join(nm, 'typescript/bin/tsc')));
    cpSync(join(ROOT, 'test/types/consumer.ts'), join(dir, 'consumer.ts'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: [] },
        files: ['consumer.ts'],
      }),
    );
    const r = spawnSync(process.execPath, [join(nm, 'typescript/bin/tsc'), '-p', dir], { cwd: dir, encoding: 'utf8', timeout: 170_000 });
    assert.equal(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
