// `orchid doctor`: can a job run on each host? Passwordless SSH, Node, orchid at the same
// path and version, the MPI addon, the clock offset, TCP ports both ways. The host runs
// doctor-probe.cjs with its own node (the script goes over the ssh session's stdin).
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { isLocalHost } from '../../launcher/hosts.js';
import { addressTowards, connectTimeout, shellQuote } from '../../launcher/ssh.js';
import { PACKAGE_ROOT } from '../../package-root.js';
import { version } from '../usage.js';
import { parseToolArgs, runOn } from './common.js';

/** The probe's source, as the host's node reads it on stdin (compiled from doctor-probe.cts). */
const PROBE = readFileSync(new URL('./doctor-probe.cjs', import.meta.url), 'utf8');

export const DOCTOR_HELP = `Usage: orchid doctor [--ssh CMD] [HOST... | --hosts LIST | -f HOSTFILE]

Check that jobs can run on each host: passwordless SSH, Node.js version, orchid at the
same path and version as here, the MPI addon, the clock offset to this host, and TCP
ports both ways (host -> this host, as ranks reach the coordinator; this host -> host,
as ranks reach each other). Prints a table; exit status 1 when a host has a problem. With the addon, it also checks
the mpiexec on PATH is of the addon's MPI (MPICH or Open MPI) and names the one to use.
Without hosts, checks this host only.
`;

interface Row {
  host: string;
  ssh: string;
  node: string;
  orchid: string;
  addon: string;
  clock: string;
  ports: string;
  problems: string[];
  /** Worth knowing, not a problem (exit status stays 0). */
  notes: string[];
  /** Will bite some way of running jobs, though orchidrun works (exit status stays 0). */
  warnings: string[];
}

async function checkHost(host: string, ssh: string, root: string): Promise<Row> {
  const row: Row = { host, ssh: '-', node: '-', orchid: '-', addon: '-', clock: '-', ports: '-', problems: [], notes: [], warnings: [] };
  const local = isLocalHost(host);
  let headAddr: string;
  try {
    headAddr = local ? '127.0.0.1' : await addressTowards(host, ssh);
  } catch (e) {
    row.ssh = 'no';
    row.problems.push(unresolvable(host, e as Error));
    return row;
  }
  // host -> here: a port on this machine that the host must reach
  const server: Server = createServer((c) => c.end());
  await new Promise<void>((r) => server.listen(0, headAddr, () => r()));
  const headPort = (server.address() as { port: number }).port;
  const node = process.env.ORCHID_REMOTE_NODE || process.execPath;
  const remote = `if [ -x ${shellQuote(node)} ]; then exec ${shellQuote(node)} - ${[root, headAddr, String(headPort)].map(shellQuote).join(' ')}; else echo "NO-NODE $(command -v node || echo none)"; fi`;
  let report: Record<string, unknown> | undefined;
  let accepted = false;
  let forward = 'not tried';
  let offset: number | undefined;
  const ran = await runOn(host, remote, ssh, {
    input: PROBE,
    timeoutMs: (connectTimeout() + 15) * 1000,
    onLine: (stream, line) => {
      if (stream !== 'stdout') return;
      if (line.startsWith('NO-NODE')) {
        report = { noNode: line.slice(8) };
        return;
      }
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (m.t === 'report') {
        report = m;
        offset = (m.now as number) - Date.now();
        const [addr, port] = String(m.listen).split(' ');
        // here -> host: what ranks on other hosts do
        const s = connect(Number(port), addr!, () => {
          forward = 'ok';
          s.end();
        });
        s.on('error', (e: NodeJS.ErrnoException) => {
          if (forward !== 'ok') forward = e.code ?? e.message; // a reset after connecting is still a connection
        });
      } else if (m.t === 'accepted') accepted = true;
    },
  });
  server.close();
  if (!local && ran.code === 255 && !report) {
    row.ssh = 'no';
    row.problems.push(`ssh: ${ran.stderr.trim().split('\n').pop() ?? 'exit 255'}`);
    return row;
  }
  row.ssh = local ? 'local' : 'ok';
  if (!report) {
    row.problems.push(`the probe did not run (exit ${ran.code}): ${ran.stderr.trim().split('\n').pop() ?? ''}`);
    return row;
  }
  if (report.noNode !== undefined) {
    row.node = 'missing';
    row.problems.push(`no node at ${node} (node on PATH: ${String(report.noNode)}); set ORCHID_REMOTE_NODE`);
    return row;
  }
  row.node = String(report.node);
  if (typeof report.arch === 'string' && report.arch !== process.arch) {
    row.node += ` ${report.arch}`;
    row.notes.push(archNote(report.arch, report.endian, loadedAddon(report)));
  }
  const major = Number(/^v(\d+)\.(\d+)/.exec(row.node)?.[1] ?? 0);
  const minor = Number(/^v(\d+)\.(\d+)/.exec(row.node)?.[2] ?? 0);
  if (major < 20 || (major === 20 && minor < 6)) row.problems.push(`Node ${row.node} is older than 20.6`);
  const mine = version();
  if (report.orchid === null) {
    row.orchid = 'missing';
    row.problems.push(`orchid is not at ${root} on this host`);
  } else {
    row.orchid = String(report.orchid);
    if (report.orchid !== mine) row.problems.push(`orchid ${String(report.orchid)} there, ${mine} here`);
    if (!report.dist) row.problems.push(`orchid at ${root} is not built (no dist/): run npm install there`);
  }
  const loaded = loadedAddon(report);
  row.addon = `${loaded ? `mpi${report.flavor ? ` (${String(report.flavor)})` : ''}` : 'ws only'}${report.mpiexec ? ', mpiexec' : ''}`;
  if (!loaded) row.notes.push(`the mpi transport is not available (ws serves): ${String(report.addon).replace(/^no: /, '')}`);
  else mpiexecCheck(row, report);
  if (offset !== undefined) {
    row.clock = `${offset >= 0 ? '+' : ''}${offset} ms`;
    if (Math.abs(offset) > 1000) row.problems.push(`clock off by ${offset} ms (benchmarks and logs disagree): run NTP`);
  }
  const back = String(report.back);
  if (accepted) forward = 'ok';
  row.ports = `to here ${back}, from here ${forward}`;
  if (back !== 'ok') row.problems.push(`the host cannot reach this host at ${headAddr} (${back}): ranks cannot reach the coordinator (firewall?)`);
  if (forward !== 'ok') row.problems.push(`this host cannot reach a port on the host (${forward}): ranks cannot reach each other (firewall?)`);
  return row;
}

const loadedAddon = (report: Record<string, unknown>): boolean => String(report.addon).startsWith('loaded');

/**
 * A host of another architecture than this one (an x86 head node driving arm64 boards): what
 * works across the two. ws frames are little-endian and typed arrays travel as raw bytes, so
 * ws needs both hosts little-endian (the probe reports byte order); MPI converts no data
 * between hosts, so mpi needs the same MPI and version everywhere, and the addon built on each
 * host for its own architecture.
 */
function archNote(arch: string, endian: unknown, loaded: boolean): string {
  const ws = endian === 'LE' ? 'ws jobs run across them (both little-endian)' : `ws cannot run across them: ${arch} there is ${endian === 'BE' ? 'big-endian' : 'of unknown byte order'}, orchid's frames are little-endian`;
  // without the addon there, the addon's own note says what to do
  const mpi = loaded ? '; an mpi job needs the same MPI and version on every host (MPI converts no data between hosts; x64 and arm64 agree on byte order and type sizes)' : '';
  return `this host is ${process.arch}, that one ${arch}: ${ws}${mpi}`;
}

const MPI_NAME: Record<string, string> = { mpich: 'MPICH', openmpi: 'Open MPI', unknown: 'an unknown MPI' };

interface FoundMpiexec {
  name: string;
  path: string;
  real: string;
  flavor: string;
}

/**
 * The addon runs only under the mpiexec of the MPI it is built against (another's starts
 * ranks that each see a world of one, or fail in MPI_Init). With the other MPI's `mpiexec`
 * first on PATH (Debian's alternatives pick Open MPI's, whatever the addon links), a plain
 * `mpiexec -n N node app.js` cannot run it: say so and which command does. No mpiexec of
 * the addon's MPI at all is a problem: `--transport mpi` cannot run either.
 */
function mpiexecCheck(row: Row, report: Record<string, unknown>): void {
  const want = String(report.flavor);
  const execs = report.mpiexecs as FoundMpiexec[] | undefined;
  if ((want !== 'mpich' && want !== 'openmpi') || !Array.isArray(execs)) return; // an older orchid there
  const lib = report.library ? ` (${String(report.library)})` : '';
  const plain = execs.find((x) => x.name === 'mpiexec');
  const env = execs.find((x) => x.name === report.orchidMpiexec);
  // what orchidrun --transport mpi runs (findMpiexec): ORCHID_MPIEXEC, else the first of the MPI's names
  const match = report.orchidMpiexec ? (env?.flavor === want ? env : undefined) : execs.find((x) => x.name !== 'mpiexec' && x.flavor === want) ?? (plain?.flavor === want ? plain : undefined);
  const where = (x: FoundMpiexec) => `${x.path}${x.real !== x.path ? ` -> ${x.real}` : ''}`;
  row.addon = `mpi (${want}), ${plain ? (plain.flavor === want ? 'mpiexec' : `mpiexec is ${plain.flavor}`) : match ? match.name : 'no mpiexec'}`;
  if (!match) {
    const seen = execs.length ? ` (found: ${execs.map((x) => `${where(x)} is ${MPI_NAME[x.flavor] ?? x.flavor}`).join('; ')})` : '';
    row.problems.push(
      `the MPI addon is built against ${MPI_NAME[want]}${lib}, but ${report.orchidMpiexec ? `ORCHID_MPIEXEC=${String(report.orchidMpiexec)} is not ${MPI_NAME[want]}'s mpiexec` : `no ${MPI_NAME[want]} mpiexec is on PATH`}${seen}: ` +
        `--transport mpi cannot run; install ${want === 'mpich' ? 'mpich' : 'openmpi-bin'} or set ORCHID_MPIEXEC to its mpiexec`,
    );
    return;
  }
  if (plain && plain.flavor !== want)
    row.warnings.push(
      `'mpiexec' on PATH (${where(plain)}) is ${MPI_NAME[plain.flavor] ?? plain.flavor}'s, but the MPI addon is built against ${MPI_NAME[want]}${lib}: ` +
        `a plain 'mpiexec -n N node app.js' cannot run it; run '${match.path} -n N node app.js', or 'orchidrun --transport mpi -n N app.js' (it picks ${match.path} itself)`,
    );
}

/** addressTowards' failure, for doctor: a name that does not resolve is no matter of interfaces. */
function unresolvable(host: string, e: Error): string {
  if (!/^cannot resolve host /.test(e.message)) return e.message.replace(/; give --iface$/, '');
  const why = e.message.replace(/; give --iface$/, '');
  return `${why}: this host cannot resolve the name (DNS or /etc/hosts); add ${host} to /etc/hosts, give its address instead (in --hosts or the hostfile), or set its HostName in ~/.ssh/config`;
}

export async function doctorMain(argv: readonly string[]): Promise<number> {
  const a = parseToolArgs(argv, {});
  if (a.help) {
    process.stdout.write(DOCTOR_HELP);
    return 0;
  }
  const hosts = [...new Set([...a.hosts, ...a.rest])];
  if (hosts.length === 0) hosts.push('localhost');
  const rows = await Promise.all(hosts.map((h) => checkHost(h, a.ssh, PACKAGE_ROOT)));
  const cols: [keyof Row, string][] = [
    ['host', 'HOST'], ['ssh', 'SSH'], ['node', 'NODE'], ['orchid', 'ORCHID'], ['addon', 'TRANSPORT'], ['clock', 'CLOCK'], ['ports', 'PORTS'],
  ];
  const cells = rows.map((r) => [...cols.map(([k]) => String(r[k])), r.problems.length ? 'PROBLEM' : 'ok']);
  const head = [...cols.map(([, t]) => t), 'STATUS'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const fmt = (c: string[]): string => c.map((x, i) => x.padEnd(widths[i]!)).join('  ').trimEnd() + '\n';
  process.stdout.write(`orchid ${version()} at ${PACKAGE_ROOT}, node ${process.version} at ${process.execPath}\n`);
  process.stdout.write(fmt(head));
  for (const c of cells) process.stdout.write(fmt(c));
  let bad = 0;
  for (const r of rows) {
    for (const n of r.notes) process.stdout.write(`${r.host}: note: ${n}\n`);
    for (const w of r.warnings) process.stdout.write(`${r.host}: warning: ${w}\n`);
    for (const p of r.problems) process.stdout.write(`${r.host}: ${p}\n`);
    if (r.problems.length) bad++;
  }
  if (bad) process.stdout.write(`${bad} of ${rows.length} host${rows.length === 1 ? '' : 's'} with problems\n`);
  return bad ? 1 : 0;
}
