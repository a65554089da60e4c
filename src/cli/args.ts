// orchidrun's command line: `orchidrun [options] SCRIPT [ARGS…]`, mpiexec style.
// Options stop at SCRIPT (or `--`); everything after it belongs to the script.
import { OrchidError } from '../errors.js';
import type { LaunchOptions, TransportName } from '../launcher/job-plan.js';
import type { BootstrapName } from '../launcher/bootstrap.js';

export type ParsedRun = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; options: LaunchOptions };

type Key =
  | 'np' | 'hostfile' | 'hosts' | 'ppn' | 'transport' | 'bootstrap' | 'env' | 'export'
  | 'timeout' | 'wdir' | 'ssh' | 'iface' | 'tag-output' | 'help' | 'version';

const VALUE: ReadonlySet<Key> = new Set<Key>(['np', 'hostfile', 'hosts', 'ppn', 'transport', 'bootstrap', 'env', 'export', 'timeout', 'wdir', 'ssh', 'iface']);

// Long names; each also works with a single dash (MPICH writes -hosts, -ppn, -wdir).
const LONG: Record<string, Key> = {
  n: 'np', np: 'np', hostfile: 'hostfile', f: 'hostfile', hosts: 'hosts', ppn: 'ppn',
  transport: 'transport', bootstrap: 'bootstrap', env: 'env', export: 'export', timeout: 'timeout',
  wdir: 'wdir', ssh: 'ssh', iface: 'iface', 'tag-output': 'tag-output', l: 'tag-output',
  help: 'help', h: 'help', version: 'version',
};

function usage(message: string): OrchidError {
  return new OrchidError('ERR_ARG', message);
}

function positiveInt(text: string, opt: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw usage(`${opt} must be a positive integer, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

export function parseRunArgs(argv: readonly string[]): ParsedRun {
  const o: LaunchOptions = { script: '' };
  const env: Record<string, string> = {};
  const exp: string[] = [];
  let tag = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break; // SCRIPT
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const key = LONG[name];
    if (!key) throw usage(`unknown option ${JSON.stringify(a)}`);
    const opt = a.slice(0, a.length - (eq < 0 ? 0 : body.length - eq));
    let value: string | undefined;
    if (VALUE.has(key)) {
      if (eq >= 0) value = body.slice(eq + 1);
      else {
        if (i + 1 >= argv.length) throw usage(`option ${opt} needs a value`);
        value = argv[++i]!;
      }
    } else if (eq >= 0) {
      throw usage(`option ${opt} takes no value`);
    }
    switch (key) {
      case 'help':
        return { kind: 'help' };
      case 'version':
        return { kind: 'version' };
      case 'tag-output':
        tag = true;
        break;
      case 'np':
        o.np = positiveInt(value!, opt);
        break;
      case 'ppn':
        o.ppn = positiveInt(value!, opt);
        break;
      case 'hostfile':
        o.hostfile = value!;
        break;
      case 'hosts':
        o.hosts = value!;
        break;
      case 'transport':
        if (!['auto', 'ws', 'mpi'].includes(value!)) throw usage(`${opt} must be auto, ws or mpi, got ${JSON.stringify(value)}`);
        o.transport = value as TransportName;
        break;
      case 'bootstrap':
        if (!['fork', 'ssh', 'slurm'].includes(value!)) throw usage(`${opt} must be fork, ssh or slurm, got ${JSON.stringify(value)}`);
        o.bootstrap = value as BootstrapName;
        break;
      case 'env': {
        const k = value!.indexOf('=');
        if (k <= 0) throw usage(`${opt} wants NAME=VALUE, got ${JSON.stringify(value)}`);
        env[value!.slice(0, k)] = value!.slice(k + 1);
        break;
      }
      case 'export':
        exp.push(value!);
        break;
      case 'timeout': {
        const s = Number(value);
        if (value!.trim() === '' || !Number.isFinite(s) || s <= 0) throw usage(`${opt} must be a positive number of seconds, got ${JSON.stringify(value)}`);
        o.timeout = s;
        break;
      }
      case 'wdir':
        o.wdir = value!;
        break;
      case 'ssh':
        o.ssh = value!;
        break;
      case 'iface':
        o.iface = value!;
        break;
    }
  }
  if (i >= argv.length) throw usage('no script given');
  o.script = argv[i]!;
  o.args = argv.slice(i + 1);
  if (Object.keys(env).length > 0) o.env = env;
  if (exp.length > 0) o.export = exp;
  if (tag) o.tagOutput = true;
  return { kind: 'run', options: o };
}
