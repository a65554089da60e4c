// Test helpers: start real processes (orchidrun, mpiexec, node, any command), and watch pids.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const ORCHIDRUN = join(ROOT, 'dist/cli/orchidrun.js');
export const ORCHID = join(ROOT, 'dist/cli/orchid.js');
export const PROGRAMS = join(ROOT, 'test/programs/launcher');
export const RANK = join(PROGRAMS, 'rank.mjs');

/**
 * Slower machines stretch every bound of the tests by one factor: ORCHID_TEST_TIME_SCALE (the
 * aarch64 lane, test/aarch64/lane.mjs, sets it: ranks under qemu-user run several times slower).
 * The bounds catch hangs; they say nothing about speed.
 */
export const TIME_SCALE = Math.max(1, Number(process.env.ORCHID_TEST_TIME_SCALE) || 1);

/**
 * The one way tests start a process: `file args` in its own process group, its output
 * collected. Returns the child, live stdout/stderr text, `waitFor(re)` and `result` (a promise
 * of {code, signal, stdout, stderr, hung}). A hang is caught by `timeoutMs`: the whole group is
 * killed and the result says so. The environment is `baseEnv` (default: this process's) with
 * `env` on top.
 */
export function start(file, args, { env, baseEnv = process.env, input, cwd = ROOT, timeoutMs = 30_000 } = {}) {
  const child = spawn(file, args, {
    cwd,
    env: { ...baseEnv, ...env },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const run = { child, stdout: '', stderr: '', hung: false };
  const watchers = new Set();
  const check = () => {
    for (const w of watchers) w();
  };
  child.stdout.setEncoding('utf8').on('data', (s) => {
    run.stdout += s;
    check();
  });
  child.stderr.setEncoding('utf8').on('data', (s) => {
    run.stderr += s;
    check();
  });
  if (input !== undefined) child.stdin.end(input);
  const timer = setTimeout(() => {
    run.hung = true;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  }, timeoutMs * TIME_SCALE);
  run.result = new Promise((resolve) => {
    child.on('error', (e) => (run.stderr += `${e.message}\n`)); // not started: 'close' follows with code -2 or so
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      check();
      resolve({ code, signal, stdout: run.stdout, stderr: run.stderr, hung: run.hung });
    });
  });
  /** Resolves with the match once `re` (global regexps: count >= n) matches stdout. */
  run.waitFor = (re, n = 1, ms = 15_000) =>
    new Promise((resolve, reject) => {
      const w = () => {
        const m = re.global ? [...run.stdout.matchAll(re)] : run.stdout.match(re);
        if (m && (!re.global || m.length >= n)) {
          watchers.delete(w);
          clearTimeout(t);
          resolve(m);
        }
      };
      const t = setTimeout(() => {
        watchers.delete(w);
        reject(new Error(`waitFor ${re}: not seen in ${ms} ms; stdout=${run.stdout.slice(-500)} stderr=${run.stderr.slice(-500)}`));
      }, ms * TIME_SCALE);
      watchers.add(w);
      w();
    });
  return run;
}

/** Run `file args` to completion: {code, signal, stdout, stderr, hung}. */
export function run(file, args, opts) {
  return start(file, args, opts).result;
}

/** Start orchidrun (or another bin of node's: `bin`) as start() does, in PROGRAMS by default. */
export function startOrchidrun(args, { bin = ORCHIDRUN, cwd = PROGRAMS, ...opts } = {}) {
  return start(process.execPath, [bin, ...args], { cwd, ...opts });
}

/** Run orchidrun to completion: {code, signal, stdout, stderr, hung}. */
export function orchidrun(args, opts) {
  return startOrchidrun(args, opts).result;
}

/** This process's environment without the ORCHID_* variables (but those in `keep`): a program started from outside orchid. */
export function envWithoutOrchid(keep = [], base = process.env) {
  const env = { ...base };
  for (const k of Object.keys(env)) if (k.startsWith('ORCHID_') && !keep.includes(k)) delete env[k];
  return env;
}

/** Alive = exists and is not a zombie. */
export function isAlive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Poll until none of `pids` is alive; returns those still alive after `ms`. */
export async function waitDead(pids, ms = 5000) {
  const end = Date.now() + ms * TIME_SCALE;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0 || Date.now() > end) return alive;
    await new Promise((r) => setTimeout(r, 50));
  }
}
