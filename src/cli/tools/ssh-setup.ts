// `orchid ssh-setup`: passwordless SSH to each host: a key (created if there is none),
// installed with ssh-copy-id, then a login with that key alone as the proof.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { isLocalHost } from '../../launcher/hosts.js';
import { splitCommand } from '../../launcher/ssh.js';
import { parseToolArgs, runOn, usage } from './common.js';

export const SSH_SETUP_HELP = `Usage: orchid ssh-setup [--ssh CMD] [-i KEY] HOST... | --hosts LIST | -f HOSTFILE

Passwordless SSH from this host to each HOST: create KEY (default ~/.ssh/id_ed25519,
ed25519, no passphrase) if there is none, install it with ssh-copy-id (which asks for
the password where needed), then prove a login with that key alone (BatchMode).
Exit status: 0 when every host accepts the key, 1 otherwise.
`;

/** The options of an ssh command line that ssh-copy-id understands (-F, -o, -p, -J via -o). */
function copyIdOptions(ssh: string[]): string[] {
  const out: string[] = [];
  for (let i = 1; i < ssh.length; i++) {
    const w = ssh[i]!;
    if ((w === '-F' || w === '-o' || w === '-p') && i + 1 < ssh.length) out.push(w, ssh[++i]!);
    else if (w === '-J' && i + 1 < ssh.length) out.push('-o', `ProxyJump=${ssh[++i]!}`);
    else if (/^-[Fop]./.test(w)) out.push(w.slice(0, 2), w.slice(2));
  }
  return out;
}

export async function sshSetupMain(argv: readonly string[]): Promise<number> {
  const a = parseToolArgs(argv, { key: true });
  if (a.help) {
    process.stdout.write(SSH_SETUP_HELP);
    return 0;
  }
  const hosts = [...new Set([...a.hosts, ...a.rest])];
  if (hosts.length === 0) throw usage('no hosts: give HOST... (or --hosts LIST, -f HOSTFILE)');
  const key = resolve(a.key ?? join(homedir(), '.ssh', 'id_ed25519'));
  const say = (s: string): boolean => process.stdout.write(`orchid ssh-setup: ${s}\n`);
  if (!existsSync(key)) {
    const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${process.env.USER ?? 'orchid'}@${hostname()}`, '-f', key], { stdio: 'inherit' });
    if (r.status !== 0) {
      process.stderr.write(`orchid ssh-setup: ssh-keygen could not create ${key}${r.error ? `: ${r.error.message}` : ''}\n`);
      return 1;
    }
    say(`created the key ${key}`);
  } else if (!existsSync(`${key}.pub`)) {
    const r = spawnSync('ssh-keygen', ['-y', '-f', key], { encoding: 'utf8' });
    if (r.status !== 0) {
      process.stderr.write(`orchid ssh-setup: cannot derive ${key}.pub: ${r.stderr}\n`);
      return 1;
    }
    writeFileSync(`${key}.pub`, r.stdout);
  } else say(`using the key ${key}`);
  const ssh = splitCommand(a.ssh);
  // ssh-copy-id keeps its temporary files in ~/.ssh
  mkdirSync(join(homedir(), '.ssh'), { recursive: true, mode: 0o700 });
  let failed = 0;
  for (const host of hosts) {
    if (isLocalHost(host)) {
      say(`${host}: this host, nothing to do`);
      continue;
    }
    // one host at a time: ssh-copy-id may ask for that host's password on the terminal
    const copy = spawnSync('ssh-copy-id', ['-i', `${key}.pub`, ...copyIdOptions(ssh), host], { stdio: ['inherit', 'pipe', 'pipe'], encoding: 'utf8' });
    const tail = `${copy.stdout ?? ''}${copy.stderr ?? ''}`.trim().split('\n').filter((l) => l.trim() && !/^\/usr\/bin\/ssh-copy-id: INFO/.test(l)).slice(-2).join(' | ');
    if (copy.error || copy.status !== 0) {
      failed++;
      process.stderr.write(`orchid ssh-setup: ${host}: ssh-copy-id failed${copy.error ? `: ${copy.error.message}` : ` (exit ${copy.status})`}${tail ? `: ${tail}` : ''}\n`);
      continue;
    }
    // the proof: a login with this key alone, no password possible
    const proof = await runOn(host, 'echo orchid-ssh-ok', a.ssh, { sshExtra: ['-o', 'IdentitiesOnly=yes', '-o', 'PasswordAuthentication=no', '-i', key] });
    if (proof.code === 0 && proof.stdout.includes('orchid-ssh-ok')) say(`${host}: ok, passwordless login with ${key} works`);
    else {
      failed++;
      process.stderr.write(`orchid ssh-setup: ${host}: the key was installed but a login with it failed: ${proof.stderr.trim().split('\n').pop() ?? ''}\n`);
    }
  }
  return failed ? 1 : 0;
}
