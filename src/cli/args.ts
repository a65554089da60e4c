// orchidrun's command line: `orchidrun [options] SCRIPT [ARGS…] [: [options] SCRIPT [ARGS…]]…`,
// mpiexec style. Options stop at SCRIPT (or `--`); everything after it up to a lone ':'
// belongs to the script. With ':' (or -configfile) the job is MPMD: one world of several
// sections, each with its own -n, script, arguments and -env (MPICH); -genv and every other
// option are global wherever they appear.
import { OrchidError } from '../errors.js';
import type { LaunchOptions, LaunchSection, TransportName } from '../launcher/job-plan.js';
import type { BootstrapName } from '../launcher/bootstrap.js';
import { readConfigfile, type Token } from './mpmd.js';

export type ParsedRun = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; options: LaunchOptions };

type Key =
  | 'np' | 'hostfile' | 'hosts' | 'ppn' | 'transport' | 'bootstrap' | 'env' | 'genv' | 'export' | 'x'
  | 'timeout' | 'wdir' | 'ssh' | 'iface' | 'tag-output' | 'help' | 'version' | 'configfile'
  | 'map-by' | 'display-map' | 'bind-to' | 'report-bindings' | 'oversubscribe' | 'output-filename'
  | 'trace' | 'profile' | 'live';

const VALUE: ReadonlySet<Key> = new Set<Key>([
  'np', 'hostfile', 'hosts', 'ppn', 'transport', 'bootstrap', 'env', 'genv', 'export', 'x', 'timeout', 'wdir', 'ssh',
  'iface', 'configfile', 'map-by', 'bind-to', 'output-filename', 'trace',
]);

// Options whose value is optional: only --name=VALUE gives one (--profile[=FILE], --live[=PORT]).
const OPTIONAL: ReadonlySet<Key> = new Set<Key>(['profile', 'live']);

// Long names; each also works with a single dash (MPICH writes -hosts, -ppn, -wdir), and the
// Open MPI spellings (-H/--host, -machinefile, -N/--npernode, -x) are aliases.
const LONG: Record<string, Key> = {
  n: 'np', np: 'np', hostfile: 'hostfile', f: 'hostfile', machinefile: 'hostfile', hosts: 'hosts', host: 'hosts', H: 'hosts',
  ppn: 'ppn', N: 'ppn', npernode: 'ppn', transport: 'transport', bootstrap: 'bootstrap', env: 'env', genv: 'genv',
  export: 'export', x: 'x', timeout: 'timeout', wdir: 'wdir', ssh: 'ssh', iface: 'iface', 'tag-output': 'tag-output',
  l: 'tag-output', help: 'help', h: 'help', version: 'version', configfile: 'configfile', 'map-by': 'map-by',
  'display-map': 'display-map', 'bind-to': 'bind-to', 'report-bindings': 'report-bindings',
  oversubscribe: 'oversubscribe', 'output-filename': 'output-filename', trace: 'trace', profile: 'profile', live: 'live',
};

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function usage(message: string): OrchidError {
  return new OrchidError('ERR_ARG', message);
}

function positiveInt(text: string, opt: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw usage(`${opt} must be a positive integer, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

function envName(name: string, opt: string): string {
  if (!ENV_NAME.test(name)) throw usage(`${opt}: bad variable name ${JSON.stringify(name)}`);
  return name;
}

interface Local {
  np?: number;
  env: Record<string, string>;
  seen: boolean;
}

export function parseRunArgs(argv: readonly string[]): ParsedRun {
  const o: LaunchOptions = { script: '' };
  const genv: Record<string, string> = {};
  const exp: string[] = [];
  let tag = false;
  let tokens: Token[] = argv.map((text) => ({ text }));
  const mpmd = (): boolean => tokens.some((t) => t.text === ':');
  const sections: LaunchSection[] = [];
  let local: Local = { env: {}, seen: false };
  let i = 0;
  // a section's name in errors: "section 2" (and "FILE:LINE" for a config-file line)
  const sectionName = (at: Token | undefined): string => `section ${sections.length + 1}${at?.from ? ` (${at.from})` : ''}`;
  const inSection = (e: unknown, at: Token | undefined): unknown => {
    if (!(e instanceof OrchidError) || !(mpmd() || at?.from)) return e;
    return usage(`${sectionName(at)}: ${e.message}`);
  };

  for (;;) {
    // options of one section, up to its SCRIPT
    for (; i < tokens.length; i++) {
      const tok = tokens[i]!;
      const a = tok.text;
      if (a === '--') {
        i++;
        break;
      }
      if (a === ':') throw usage(`${sectionName(tok)}: no script given before ":"`);
      if (!a.startsWith('-') || a === '-') break; // SCRIPT
      try {
        const body = a.replace(/^--?/, '');
        const eq = body.indexOf('=');
        const name = eq < 0 ? body : body.slice(0, eq);
        const key = LONG[name];
        if (!key) throw usage(`unknown option ${JSON.stringify(a)}`);
        const opt = a.slice(0, a.length - (eq < 0 ? 0 : body.length - eq));
        let value: string | undefined;
        const next = (): string => {
          if (i + 1 >= tokens.length || tokens[i + 1]!.text === ':') throw usage(`option ${opt} needs a value`);
          return tokens[++i]!.text;
        };
        if (VALUE.has(key)) value = eq >= 0 ? body.slice(eq + 1) : next();
        else if (OPTIONAL.has(key)) value = eq >= 0 ? body.slice(eq + 1) : undefined;
        else if (eq >= 0) throw usage(`option ${opt} takes no value`);
        switch (key) {
          case 'help':
            return { kind: 'help' };
          case 'version':
            return { kind: 'version' };
          case 'tag-output':
            tag = true;
            break;
          case 'np':
            local.np = positiveInt(value!, opt);
            local.seen = true;
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
          case 'env':
          case 'genv': {
            // NAME=VALUE, or MPICH's two words NAME VALUE
            const k = value!.indexOf('=');
            const [n, v] = k >= 0 ? [value!.slice(0, k), value!.slice(k + 1)] : [value!, next()];
            if (n === '') throw usage(`${opt} wants NAME=VALUE or NAME VALUE, got ${JSON.stringify(value)}`);
            envName(n, opt);
            if (key === 'genv') genv[n] = v;
            else {
              local.env[n] = v;
              local.seen = true;
            }
            break;
          }
          case 'export':
            exp.push(value!);
            break;
          case 'x': {
            // Open MPI: -x NAME (its current value) or -x NAME=VALUE; one variable, commas are part of VALUE
            const k = value!.indexOf('=');
            if (k < 0) {
              envName(value!, opt);
              if (process.env[value!] === undefined) throw usage(`${opt} ${value}: ${value} is not set in the environment (give -x ${value}=VALUE)`);
              exp.push(value!);
            }
            else genv[envName(value!.slice(0, k), opt)] = value!.slice(k + 1);
            break;
          }
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
          case 'map-by':
            if (value !== 'node' && value !== 'slot') throw usage(`${opt} must be node or slot, got ${JSON.stringify(value)}`);
            o.mapBy = value;
            break;
          case 'bind-to':
            if (value !== 'core' && value !== 'none') throw usage(`${opt} must be core or none, got ${JSON.stringify(value)}`);
            o.bindTo = value;
            break;
          case 'report-bindings':
            o.reportBindings = true;
            break;
          case 'display-map':
            o.displayMap = true;
            break;
          case 'oversubscribe':
            o.oversubscribe = true;
            break;
          case 'trace':
            if (value === '') throw usage(`${opt} needs a directory`);
            o.trace = value!;
            break;
          case 'profile':
            if (value === '') throw usage(`${opt}= needs a file name`);
            o.profile = value ?? true;
            break;
          case 'live': {
            if (value === undefined) {
              o.live = true;
              break;
            }
            const port = Number(value);
            if (!/^[0-9]+$/.test(value) || port > 65535) throw usage(`${opt}=PORT: a port number 0-65535, got ${JSON.stringify(value)}`);
            o.live = port;
            break;
          }
          case 'output-filename':
            if (value === '') throw usage(`${opt} needs a directory`);
            o.outputFilename = value!;
            break;
          case 'configfile': {
            if (tok.from) throw usage(`${opt} inside a config file`);
            if (sections.length > 0 || local.seen) throw usage(`${opt} ${value}: give every section (its -n, -env, script) in the file, not on the command line`);
            if (i + 1 < tokens.length) {
              throw usage(`${opt} ${value}: nothing may follow it on the command line (found ${JSON.stringify(tokens[i + 1]!.text)}); put every section in the file`);
            }
            tokens = [...tokens.slice(0, i + 1), ...readConfigfile(value!)];
            break;
          }
        }
      } catch (e) {
        throw inSection(e, tok);
      }
    }
    if (i >= tokens.length || tokens[i]!.text === ':') throw inSection(usage('no script given'), tokens[i] ?? tokens[i - 1]);
    const scriptTok = tokens[i]!;
    // the script's arguments: up to a lone ':'
    let end = i + 1;
    while (end < tokens.length && tokens[end]!.text !== ':') end++;
    sections.push({
      script: scriptTok.text,
      args: tokens.slice(i + 1, end).map((t) => t.text),
      ...(local.np !== undefined ? { np: local.np } : {}),
      ...(Object.keys(local.env).length > 0 ? { env: local.env } : {}),
    });
    if (end >= tokens.length) break;
    i = end + 1;
    local = { env: {}, seen: false };
    if (i >= tokens.length) throw usage(`section ${sections.length + 1}: no script given after ":"`);
  }

  if (sections.length === 1) {
    const s = sections[0]!;
    o.script = s.script;
    o.args = s.args!;
    if (s.np !== undefined) o.np = s.np;
    const env = { ...genv, ...s.env };
    if (Object.keys(env).length > 0) o.env = env;
  } else {
    delete (o as { script?: string }).script;
    o.sections = sections;
    if (Object.keys(genv).length > 0) o.env = genv;
  }
  if (exp.length > 0) o.export = exp;
  if (tag) o.tagOutput = true;
  return { kind: 'run', options: o };
}
