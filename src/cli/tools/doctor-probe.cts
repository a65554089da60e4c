// `orchid doctor`'s probe: runs on each host with that host's node, read from stdin (`node -
// ROOT HEAD_ADDR HEAD_PORT`), so it uses nothing but node itself. It reports on one JSON line
// what the host has (node, orchid at ROOT, the addon, mpiexec, its clock), then checks TCP
// both ways: it connects to HEAD_ADDR:HEAD_PORT and listens for the head node to connect back.
import fs = require('node:fs');
import net = require('node:net');
import os = require('node:os');
import path = require('node:path');
import dgram = require('node:dgram');
import url = require('node:url');
import cp = require('node:child_process');

const [root = '', headHost = '', headPort = ''] = process.argv.slice(2);
const out = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');
const firstLine = (s: unknown, max: number): string => String(s).split('\n')[0]!.slice(0, max);

const r: Record<string, unknown> = { hostname: os.hostname(), node: process.version, arch: process.arch, endian: os.endianness(), cores: os.availableParallelism?.() ?? os.cpus().length };
try {
  r.orchid = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string }).version;
} catch {
  r.orchid = null;
}
r.dist = fs.existsSync(path.join(root, 'dist/launcher/proxy.js'));
r.mpiexec = (process.env.PATH || '').split(':').some((d) => d && fs.existsSync(path.join(d, 'mpiexec')));
// the mpiexecs on PATH and which MPI each is (its --version), to compare with the addon's
const onPath = (name: string): string | undefined =>
  (process.env.PATH || '').split(':').map((d) => d && path.join(d, name)).find((p) => p && fs.existsSync(p)) || undefined;
const flavorOf = (p: string): string => {
  const v = cp.spawnSync(p, ['--version'], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' } });
  const text = `${v.stdout ?? ''}${v.stderr ?? ''}`;
  return /HYDRA|MPICH/i.test(text) ? 'mpich' : /Open MPI|OpenRTE|open-mpi/i.test(text) ? 'openmpi' : 'unknown';
};
const realOf = (p: string): string => {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
};
r.mpiexecs = ['mpiexec', 'mpiexec.hydra', 'mpiexec.mpich', 'mpiexec.openmpi', process.env.ORCHID_MPIEXEC]
  .filter((n): n is string => !!n)
  .map((name) => ({ name, path: name.includes('/') ? (fs.existsSync(name) ? name : undefined) : onPath(name) }))
  .filter((x): x is { name: string; path: string } => !!x.path)
  .map((x) => ({ ...x, real: realOf(x.path), flavor: flavorOf(x.path) }));
r.orchidMpiexec = process.env.ORCHID_MPIEXEC ?? null;

(async () => {
  try {
    const m = await import(url.pathToFileURL(path.join(root, 'dist/transport/mpi/addon.js')).href);
    if (m.nativeStatus) {
      const st = m.nativeStatus();
      r.addon = st.available ? 'loaded' : 'no: ' + firstLine(st.reason || 'not built', 500);
      r.flavor = st.flavor;
      r.library = st.library;
    } else {
      // an older orchid there
      const a = m.loadAddon();
      r.addon = a.addon ? 'loaded' : 'no: ' + firstLine(a.error || 'not built', 160);
    }
  } catch (e) {
    r.addon = 'no: ' + firstLine((e as Error).message, 80);
  }
  r.back = await new Promise((res) => {
    const s = net.connect(Number(headPort), headHost, () => {
      s.end();
      res('ok');
    });
    s.on('error', (e: NodeJS.ErrnoException) => res(e.code || e.message));
    setTimeout(() => {
      s.destroy();
      res('timeout');
    }, 3000);
  });
  const srv = net.createServer((c) => {
    c.end();
    srv.close();
    out({ t: 'accepted' });
  });
  // listen on this host's address on the route to the head node
  const local = await new Promise<string | undefined>((res) => {
    const u = dgram.createSocket(net.isIPv6(headHost) ? 'udp6' : 'udp4');
    u.on('error', () => res(undefined));
    u.connect(Number(headPort), headHost, () => {
      const a = u.address().address;
      u.close();
      res(a);
    });
  });
  srv.listen(0, local, () => {
    r.now = Date.now();
    out({ t: 'report', ...r, listen: local + ' ' + (srv.address() as net.AddressInfo).port });
  });
  setTimeout(() => {
    out({ t: 'no-connection' });
    process.exit(0);
  }, 4000).unref();
})();
