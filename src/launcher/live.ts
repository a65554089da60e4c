// --live[=PORT]: while the job runs the launcher serves one small page (no external assets)
// on 127.0.0.1 (reach it from another machine with ssh -L): per rank its current call and how
// long it has been in it, messages and bytes per second, and the pending-call text the
// --timeout report prints (the same describePending() of each rank), refreshed from
// /state.json twice a second. Ranks send their state every 250 ms (rank/trace-ship.ts).
import { createServer, type Server } from 'node:http';
import { OrchidError } from '../errors.js';
import type { TraceCollector } from './trace-collect.js';

export interface LiveRow {
  rank: number;
  host: string;
  /** the call waited in longest, or '' (computing) */
  call: string;
  callMs: number;
  pending: string;
  msgRate: number;
  byteRate: number;
  /** ms since the rank's last state (a rank in a long synchronous loop sends none) */
  ageMs: number;
  state: 'waiting' | 'running' | 'silent' | 'not started' | 'ended';
}

export function liveRows(col: TraceCollector, now: number, ended: (rank: number) => boolean): LiveRow[] {
  return col.ranks.map((r) => {
    const l = r.live;
    const host = r.host ?? '?';
    if (!l) return { rank: r.rank, host, call: '', callMs: 0, pending: '', msgRate: 0, byteRate: 0, ageMs: 0, state: ended(r.rank) ? 'ended' : 'not started' };
    const age = now - l.gotAt;
    const top = l.calls.reduce<{ call: string; ms: number } | undefined>((a, c) => (!a || c.ms > a.ms ? c : a), undefined);
    const state = ended(r.rank) ? 'ended' : age > 2000 ? 'silent' : top ? 'waiting' : 'running';
    return { rank: r.rank, host, call: top?.call ?? '', callMs: top ? top.ms + age : 0, pending: l.pending, msgRate: l.msgRate, byteRate: l.byteRate, ageMs: age, state };
  });
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const rate = (x: number): string => (x >= 1e9 ? `${(x / 1e9).toFixed(1)} G` : x >= 1e6 ? `${(x / 1e6).toFixed(1)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0));

function rowHtml(r: LiveRow): string {
  const what = r.state === 'waiting' ? `${esc(r.call)} for ${(r.callMs / 1000).toFixed(1)} s` : r.state === 'running' ? 'computing (no pending call)' : r.state === 'silent' ? `no state for ${(r.ageMs / 1000).toFixed(1)} s (busy in a synchronous loop?)` : r.state;
  return `<tr class="rank ${r.state}" data-rank="${r.rank}"><td>${r.rank}</td><td>${esc(r.host)}</td><td class="call">${what}</td><td>${rate(r.msgRate)}</td><td>${rate(r.byteRate)}B</td><td class="pending">${esc(r.pending)}</td></tr>`;
}

export function livePage(title: string, rows: LiveRow[]): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:13px system-ui,sans-serif;margin:16px;color:#222} h1{font-size:18px}
table{border-collapse:collapse} td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
tr.waiting td.call{color:#a50} tr.silent td.call{color:#a00} tr.ended{color:#888} td.pending{font-family:monospace;font-size:12px;color:#555}
</style></head><body>
<h1>${esc(title)}</h1><div id="status">live</div>
<table><thead><tr><th>rank</th><th>host</th><th>current call</th><th>msgs/s</th><th>bytes/s</th><th>pending calls</th></tr></thead>
<tbody id="rows">${rows.map(rowHtml).join('')}</tbody></table>
<script>
(function(){
function esc(s){return String(s).replace(/[&<>"]/g,function(c){return {'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c];});}
function rate(x){return x>=1e9?(x/1e9).toFixed(1)+' G':x>=1e6?(x/1e6).toFixed(1)+' M':x>=1e3?(x/1e3).toFixed(1)+' k':x.toFixed(0);}
function row(r){var what=r.state==='waiting'?esc(r.call)+' for '+(r.callMs/1000).toFixed(1)+' s':r.state==='running'?'computing (no pending call)':r.state==='silent'?'no state for '+(r.ageMs/1000).toFixed(1)+' s (busy in a synchronous loop?)':r.state;
  return '<tr class="rank '+r.state+'" data-rank="'+r.rank+'"><td>'+r.rank+'</td><td>'+esc(r.host)+'</td><td class="call">'+what+'</td><td>'+rate(r.msgRate)+'</td><td>'+rate(r.byteRate)+'B</td><td class="pending">'+esc(r.pending)+'</td></tr>';}
function tick(){fetch('state.json').then(function(r){return r.json();}).then(function(s){
  document.getElementById('rows').innerHTML=s.rows.map(row).join('');document.getElementById('status').textContent=s.done?'the job has ended':'live, job running for '+(s.elapsedMs/1000).toFixed(1)+' s';
  if(!s.done)setTimeout(tick,500);}).catch(function(){document.getElementById('status').textContent='the launcher is gone';});}
setTimeout(tick,500);
})();
</script></body></html>
`;
}

/** The live server; `state()` is read on every request. */
export class LiveServer {
  private server: Server | undefined;
  url = '';

  constructor(
    private readonly title: string,
    private readonly state: () => { rows: LiveRow[]; elapsedMs: number; done: boolean },
  ) {}

  start(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const server = createServer((req, res) => {
        const path = (req.url ?? '/').split('?')[0];
        if (path === '/state.json') {
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          res.end(JSON.stringify(this.state()));
        } else if (path === '/' || path === '/index.html') {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
          res.end(livePage(this.title, this.state().rows));
        } else {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end('not found\n');
        }
      });
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new OrchidError('ERR_ARG', `--live: cannot listen on 127.0.0.1:${port}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message}`)),
      );
      server.listen(port, '127.0.0.1', () => {
        const a = server.address();
        this.url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : port}/`;
        server.unref();
        resolve(this.url);
      });
      this.server = server;
    });
  }

  close(): void {
    this.server?.closeAllConnections?.();
    this.server?.close();
    this.server = undefined;
  }
}
