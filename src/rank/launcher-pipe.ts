// The launcher pipe: the proxy starts every rank with a pipe on fd ORCHID_SECRET_FD (3) and
// writes the job secret to it, one base64 line, then keeps it open. The rank reads the secret
// and keeps reading: EOF means the proxy is gone, and the rank must not outlive it.
import { Socket } from 'node:net';
import { OrchidError } from '../errors.js';

let link: Socket | undefined;
let secretPromise: Promise<Buffer> | undefined;
let linkEnded = false;
const onLinkEnd: Array<() => void> = [];

function openLink(): Socket {
  if (link) return link;
  const fdText = process.env.ORCHID_SECRET_FD;
  if (fdText === undefined || fdText === '') {
    throw new OrchidError('ERR_AUTH', 'readSecret: ORCHID_SECRET_FD is not set (was this rank started by orchidrun?)');
  }
  const fd = Number(fdText);
  if (!Number.isInteger(fd) || fd < 0) throw new OrchidError('ERR_AUTH', `readSecret: ORCHID_SECRET_FD=${fdText} is not a file descriptor`);
  let sock: Socket;
  try {
    sock = new Socket({ fd, readable: true, writable: false });
  } catch (e) {
    throw new OrchidError('ERR_AUTH', `readSecret: cannot open fd ${fd} from ORCHID_SECRET_FD: ${(e as Error).message}`, { cause: e });
  }
  sock.on('error', () => {});
  const ended = (): void => {
    if (linkEnded) return;
    linkEnded = true;
    for (const cb of onLinkEnd.splice(0)) cb();
  };
  sock.on('end', ended);
  sock.on('close', ended);
  link = sock;
  return sock;
}

/** The job secret, from the pipe the proxy passed on fd ORCHID_SECRET_FD. */
export function readSecret(): Promise<Buffer> {
  if (secretPromise) return secretPromise;
  secretPromise = new Promise<Buffer>((resolve, reject) => {
    let sock: Socket;
    try {
      sock = openLink();
    } catch (e) {
      reject(e);
      return;
    }
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      sock.off('data', onData);
      // Keep reading (and discarding) so EOF is seen, without keeping the rank alive.
      sock.on('data', () => {});
      sock.unref();
      const secret = Buffer.from(text.slice(0, nl), 'base64');
      if (secret.length === 0) reject(new OrchidError('ERR_AUTH', 'readSecret: the launcher sent an empty secret'));
      else resolve(secret);
    };
    sock.on('data', onData);
    onLinkEnd.push(() => reject(new OrchidError('ERR_AUTH', 'readSecret: the launcher pipe closed before the secret arrived')));
  });
  return secretPromise;
}

/** Exit(1) when the launcher pipe reaches EOF (the proxy is gone). Does not keep the rank alive. */
export function watchLauncher(rank: number): void {
  let sock: Socket;
  try {
    sock = openLink();
  } catch {
    return; // not under a launcher: nothing to watch
  }
  const gone = (): void => {
    try {
      process.stderr.write(`orchid: rank ${rank}: launcher is gone, exiting\n`);
    } catch {
      // stderr went with the launcher
    }
    process.exit(1);
  };
  if (linkEnded) {
    gone();
    return;
  }
  onLinkEnd.push(gone);
  if (!secretPromise) sock.on('data', () => {});
  sock.unref();
}
