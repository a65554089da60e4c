// `orchid exec`: a shell command on every host at once (the "update all nodes" chore), each
// output line prefixed with its host, then one status line per host.
import { isLocalHost } from '../../launcher/hosts.js';
import { parseToolArgs, runOn, usage } from './common.js';

export const EXEC_HELP = `Usage: orchid exec [--hosts LIST | -f HOSTFILE] [--ssh CMD] [--timeout S] [--] COMMAND...

Run a shell command on every host at once (over ssh; this host runs it directly).
Each output line is prefixed with its host; a status line per host follows.
Exit status: 0 when the command succeeded everywhere, 1 otherwise, 2 for bad arguments.
`;

export async function execMain(argv: readonly string[]): Promise<number> {
  const a = parseToolArgs(argv, { timeout: true, stopAtCommand: true });
  if (a.help) {
    process.stdout.write(EXEC_HELP);
    return 0;
  }
  if (a.hosts.length === 0) throw usage('no hosts: give --hosts LIST or -f HOSTFILE');
  if (a.rest.length === 0) throw usage('no command given');
  // like ssh: the words are joined with spaces and the remote shell reads them
  const command = a.rest.join(' ');
  const width = Math.max(...a.hosts.map((h) => h.length));
  const results = await Promise.all(
    a.hosts.map((host) =>
      runOn(host, command, a.ssh, {
        timeoutMs: a.timeout ? a.timeout * 1000 : undefined,
        onLine: (stream, line) => (stream === 'stdout' ? process.stdout : process.stderr).write(`${host.padEnd(width)}: ${line}\n`),
      }),
    ),
  );
  let failed = 0;
  results.forEach((r, i) => {
    const host = a.hosts[i]!;
    const status = r.signal ? `killed by ${r.signal}${a.timeout ? ` (--timeout ${a.timeout})` : ''}` : r.code === 0 ? 'ok' : r.code === 255 && !isLocalHost(host) ? 'ssh failed (exit 255)' : `exit ${r.code}`;
    if (status !== 'ok') failed++;
    process.stderr.write(`orchid exec: ${host.padEnd(width)}  ${status}\n`);
  });
  if (failed) process.stderr.write(`orchid exec: failed on ${failed} of ${results.length} host${results.length === 1 ? '' : 's'}\n`);
  return failed ? 1 : 0;
}
