// How a rank runs SCRIPT: TypeScript through tsx's loader in the same node process
// (no tsx CLI wrapper, no build step), JavaScript with this node, anything else directly.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { OrchidError } from '../errors.js';

/** What runs a script: tsx's loader inside node ('ts'), this node ('js'), or nothing (an executable). */
export type Runner = 'ts' | 'js' | 'exec';

export function runnerOf(script: string): Runner {
  if (/\.(ts|mts|cts|tsx)$/i.test(script)) return 'ts';
  if (/\.(js|mjs|cjs)$/i.test(script)) return 'js';
  return 'exec';
}

/** Absolute file URL of tsx's ESM loader, resolved from orchid's own install. */
export function tsxLoaderUrl(): string {
  return import.meta.resolve('tsx');
}

export interface Command {
  file: string;
  args: string[];
}

/** The command line that runs `script args` as one rank. */
export function rankCommand(script: string, args: readonly string[]): Command {
  switch (runnerOf(script)) {
    case 'ts':
      return { file: process.execPath, args: ['--import', tsxLoaderUrl(), script, ...args] };
    case 'js':
      return { file: process.execPath, args: [script, ...args] };
    default:
      return { file: script, args: [...args] };
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return isFile(p);
  } catch {
    return false;
  }
}

/** First `name` on PATH that is an executable file. */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

/**
 * Resolve SCRIPT as the launcher sees it: a script file becomes an absolute path (looked
 * up in the launcher's cwd, then in wdir); a bare command name stays a name for PATH
 * lookup on the rank's host. `checkPath` verifies the command exists (local jobs).
 */
export function resolveScript(script: string, cwd: string, wdir: string | undefined, checkPath: boolean): string {
  if (script === '') throw new OrchidError('ERR_ARG', 'no script given');
  const runner = runnerOf(script);
  const candidates = isAbsolute(script) ? [script] : [resolve(cwd, script), ...(wdir ? [resolve(wdir, script)] : [])];
  if (runner !== 'exec') {
    const found = candidates.find(isFile);
    if (!found) throw new OrchidError('ERR_ARG', `script not found: ${script}`);
    return found;
  }
  if (script.includes('/')) {
    const found = candidates.find(isFile);
    if (!found) throw new OrchidError('ERR_ARG', `program not found: ${script}`);
    if (!isExecutable(found)) throw new OrchidError('ERR_ARG', `program is not executable: ${script}`);
    return found;
  }
  if (!checkPath || findOnPath(script)) return script;
  const here = candidates.find(isExecutable);
  if (here) return here;
  throw new OrchidError('ERR_ARG', `command not found: ${script} (not a .js/.mjs/.cjs/.ts file, not on PATH)`);
}
