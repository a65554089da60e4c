// Rank program for launcher tests (does not call init()). Mode in argv[2].
import { writeSync } from 'node:fs';

const rank = Number(process.env.ORCHID_RANK);
const [mode, ...args] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const forever = () => setInterval(() => {}, 1 << 30);

// `node --test test/` also runs every .mjs under test/ as a test file: nothing to do then.
if (mode === undefined && process.env.ORCHID_RANK === undefined) process.exit(0);

switch (mode) {
  case 'hello':
    console.log(`rank ${rank} of ${process.env.ORCHID_SIZE}`);
    break;
  case 'env':
    console.log(JSON.stringify({
      rank,
      cwd: process.cwd(),
      args,
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('ORCHID_') || k.startsWith('OT_'))),
    }));
    break;
  case 'exit': {
    // exit R CODE: rank R exits with CODE, the others with 0
    const [r, code] = args.map(Number);
    process.exit(rank === r ? code : 0);
  }
  case 'fail-late': {
    // rank R prints to stderr and exits CODE after a moment; the others print their pid and sleep
    const [r, code] = args.map(Number);
    console.log(`pid ${process.pid}`);
    if (rank === r) {
      await sleep(300);
      console.error(`rank ${rank} is failing on purpose`);
      process.exit(code);
    }
    forever();
    break;
  }
  case 'signal': {
    const [r, sig] = args;
    if (rank === Number(r)) process.kill(process.pid, sig);
    else forever();
    break;
  }
  case 'throw':
    if (rank === Number(args[0])) throw new Error(`boom from rank ${rank}`);
    forever();
    break;
  case 'sleep':
    // print pid and the proxy's pid, then wait to be killed
    console.log(`pid ${process.pid} ppid ${process.ppid}`);
    forever();
    break;
  case 'lines': {
    // N lines of random length in [MIN, MAX] bytes, each self-checking
    const [n, min, max] = args.map(Number);
    for (let i = 0; i < n; i++) {
      const len = min + Math.floor(Math.random() * (max - min + 1));
      const head = `R${rank} L${i} N${len} `;
      const body = String.fromCharCode(97 + ((rank + i) % 26)).repeat(Math.max(0, len - head.length - 3));
      const line = `${head}${body}|E\n`;
      // writeSync with large lines: the pipe sees them split into many chunks
      writeSync(1, line);
    }
    break;
  }
  case 'stdin': {
    let text = '';
    process.stdin.setEncoding('utf8');
    for await (const chunk of process.stdin) text += chunk;
    console.log(`rank ${rank} read ${JSON.stringify(text)}`);
    break;
  }
  case 'secret': {
    const { readSecret } = await import('../../../dist/rank/launcher-pipe.js');
    const secret = await readSecret();
    console.log(JSON.stringify({ rank, pid: process.pid, ppid: process.ppid, secret: secret.toString('base64') }));
    forever();
    break;
  }
  case 'watch': {
    // with watchLauncher: exits by itself when the proxy is gone
    const { readSecret, watchLauncher } = await import('../../../dist/rank/launcher-pipe.js');
    await readSecret();
    watchLauncher(rank);
    console.log(`pid ${process.pid} ppid ${process.ppid}`);
    forever();
    break;
  }
  case 'stubborn': {
    // ignores SIGINT and SIGTERM; rank R exits with CODE after a moment (R = -1: nobody)
    const [r, code] = args.map(Number);
    process.on('SIGINT', () => {});
    process.on('SIGTERM', () => {});
    console.log(`pid ${process.pid} ppid ${process.ppid}`);
    if (rank === r) {
      await sleep(300);
      process.exit(code);
    }
    forever();
    break;
  }
  case 'coord': {
    // the launcher's coordinator, used directly: every rank registers; rank R (if given) aborts
    const { readSecret, watchLauncher } = await import('../../../dist/rank/launcher-pipe.js');
    const { connectCoordinator } = await import('../../../dist/rank/coord-client.js');
    const secret = await readSecret();
    watchLauncher(rank);
    const client = await connectCoordinator({
      coord: process.env.ORCHID_COORD, secret, rank, size: Number(process.env.ORCHID_SIZE),
      info: { host: process.env.ORCHID_HOST, rank }, timeoutMs: 10_000,
    });
    console.log(`rank ${rank} table ${JSON.stringify(client.table.map((p) => p.rank))}`);
    const keep = forever();
    client.on('abort', (code, reason) => {
      console.log(`rank ${rank} heard abort ${code}: ${reason}`);
      process.exit(0);
    });
    if (args[0] !== undefined && rank === Number(args[0])) await client.abort(Number(args[1]), 'bad input');
    else if (args[0] === undefined) {
      client.close();
      clearInterval(keep);
    }
    break;
  }
  case 'partial':
    process.stdout.write(`rank ${rank} no newline`);
    break;
  default:
    console.error(`rank.mjs: unknown mode ${mode}`);
    process.exit(99);
}
