// The task function: each rank that runs tasks imports the pool's module itself (functions do
// not travel) and takes the named export. What goes wrong is said in one sentence that the
// scheduler reports with the rank and host (ERR_ARG on every rank of Pool.start).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export type TaskFn = (item: unknown) => unknown;

/** The module's URL: a URL as is, a path resolved against the current directory. */
export function moduleUrl(mod: string | URL): string {
  if (mod instanceof URL) return mod.href;
  if (/^[a-z][a-z0-9+.-]+:/i.test(mod)) return mod; // file:, data:, node: …
  return pathToFileURL(resolve(mod)).href;
}

/** The main script's URL (process.argv[1]), when there is one. */
function mainUrl(): string | undefined {
  const main = process.argv[1];
  return main ? pathToFileURL(resolve(main)).href : undefined;
}

/** Import `mod` and return its export `name`; throws an Error whose message says what is wrong. */
export async function loadTask(mod: string | URL, name: string): Promise<TaskFn> {
  const url = moduleUrl(mod);
  if (url === mainUrl())
    throw new Error(
      `the task module ${url} is the program's main script: importing it from inside would wait for its own top-level await for ever; put the task function in a module of its own`,
    );
  let ns: Record<string, unknown>;
  try {
    ns = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    const why = e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e);
    throw new Error(`could not import the task module ${url}: ${why}`);
  }
  const fn = ns[name];
  if (typeof fn !== 'function') {
    const names = Object.keys(ns).filter((k) => typeof ns[k] === 'function');
    throw new Error(
      `the task module ${url} has no function export "${name}" (it is ${fn === undefined ? 'not exported' : `a ${typeof fn}`}; function exports: ${names.length ? names.join(', ') : 'none'})`,
    );
  }
  return fn as TaskFn;
}
