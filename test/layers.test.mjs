// Imports run one way (ARCHITECTURE.md "Layers"): rank/ puts the layers together; comm/ may use
// transport/ and codec/; transport/ only codec/; nothing below imports rank/, launcher/ (except
// the two shared launcher files rank/ uses) or cli/. This reads every import of src/.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : /\.(c|m)?ts$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

/** `comm/comm.ts` -> the src-relative files it imports. */
function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  const out = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
    out.push(relative(src, resolve(dirname(file), m[1])));
  }
  return out;
}

// layer -> the top folders it must not import from
const FORBIDDEN = {
  codec: ['comm', 'transport', 'rank', 'launcher', 'cli', 'bench'],
  transport: ['comm', 'rank', 'launcher', 'cli', 'bench'],
  comm: ['rank', 'launcher', 'cli', 'bench'],
  rank: ['cli', 'bench'],
  launcher: ['rank', 'cli', 'bench'],
};

test('imports run one way: no layer imports one above it', () => {
  const wrong = [];
  for (const file of files(src)) {
    const from = relative(src, file);
    const layer = from.split('/')[0];
    for (const to of importsOf(file)) {
      if (FORBIDDEN[layer]?.includes(to.split('/')[0])) wrong.push(`${from} imports ${to}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('the check sees imports at all (it cannot pass blind)', () => {
  assert.ok(importsOf(join(src, 'comm', 'comm.ts')).some((f) => f.startsWith('comm/')));
  assert.ok(importsOf(join(src, 'rank', 'join-ws.ts')).some((f) => f.startsWith('comm/')));
});
