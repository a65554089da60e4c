// --trace DIR: DIR/timeline.html, one self-contained page (inline CSS and JS, no network):
// a row per rank with its calls on a time axis (wheel: zoom around the pointer, drag: pan,
// double-click: everything), arrows from sends to their receives, a rank x rank matrix of the
// point-to-point bytes, and a bar per call of the time all ranks spent in it.
import type { Profile } from './trace-profile.js';
import type { Flow, LanedCall } from './trace-chrome.js';

export interface TimelineInput {
  title: string;
  ranks: Array<{ rank: number; host: string; calls: LanedCall[]; lanes: number }>;
  flows: Flow[];
  profile: Profile;
  notes: string[];
}

/** Calls drawn at most (the page stays responsive); beyond, the note says how many were left out. */
const MAX_DRAWN = 300_000;
const MAX_FLOWS = 50_000;

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function timelineHtml(t: TimelineInput): string {
  const names: string[] = [];
  const nameIdx = new Map<string, number>();
  const id = (n: string): number => {
    let i = nameIdx.get(n);
    if (i === undefined) nameIdx.set(n, (i = names.push(n) - 1));
    return i;
  };
  let budget = MAX_DRAWN;
  let left = 0;
  const ranks = t.ranks.map((r) => {
    const take = r.calls.slice(0, Math.max(0, budget));
    budget -= take.length;
    left += r.calls.length - take.length;
    return {
      rank: r.rank, host: r.host, lanes: Math.max(1, r.lanes),
      ev: take.map((c) => [id(c.name), +c.t0.toFixed(4), +(c.t1 - c.t0).toFixed(4), c.lane, c.flags, c.peer, c.tag, c.bytes, c.comm]),
    };
  });
  const flows = t.flows.slice(0, MAX_FLOWS).map((f) => [f.src, f.send.lane, +f.send.t0.toFixed(4), f.dst, f.recv.lane, +f.recv.t1.toFixed(4)]);
  const notes = [...t.notes];
  if (left > 0) notes.push(`${left} calls are not drawn here (the page draws at most ${MAX_DRAWN}); trace.json has them all`);
  if (t.flows.length > MAX_FLOWS) notes.push(`${t.flows.length - MAX_FLOWS} message arrows are not drawn here`);
  const data = { names, ranks, flows, profile: t.profile };
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  const rows = t.ranks.map((r) => `<div class="row" data-rank="${r.rank}"><div class="label">rank ${r.rank} @ ${esc(r.host)}</div><canvas class="lane" data-rank="${r.rank}"></canvas></div>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(t.title)}</title>
<style>
body{font:13px system-ui,sans-serif;margin:16px;color:#222}
h1{font-size:18px;margin:0 0 4px} h2{font-size:15px;margin:20px 0 6px}
.note{color:#a33} .hint{color:#666}
#timeline{border:1px solid #ccc;user-select:none}
.row{display:flex;border-bottom:1px solid #eee;align-items:stretch}
.label{width:170px;flex:none;padding:2px 6px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;background:#fafafa;border-right:1px solid #ddd}
canvas.lane{flex:1;height:22px;display:block;cursor:grab;min-width:0}
#axis{display:flex} #axis .label{background:#fff} #axis canvas{flex:1;height:18px;min-width:0}
#tip{position:fixed;pointer-events:none;background:#fffbe6;border:1px solid #cb9;padding:3px 6px;display:none;white-space:pre;font-size:12px}
table.m{border-collapse:collapse} table.m td,table.m th{border:1px solid #ddd;padding:2px 6px;text-align:right;font-size:12px}
.bar{display:flex;align-items:center;margin:2px 0} .bar .n{width:150px} .bar .b{height:14px;background:#4a7fd0;margin-right:6px} .bar .v{color:#444}
</style></head>
<body>
<h1>${esc(t.title)}</h1>
<div class="hint">wheel: zoom around the pointer &middot; drag: pan &middot; double-click: show everything &middot; hover a call for its arguments</div>
${notes.map((n) => `<div class="note">${esc(n)}</div>`).join('\n')}
<h2>Timeline</h2>
<div id="timeline">
<div id="axis"><div class="label" id="span"></div><canvas id="axiscv"></canvas></div>
${rows}
</div>
<div id="tip"></div>
<h2>Point-to-point bytes (row: from rank, column: to rank)</h2>
<div id="matrix"></div>
<h2>Time per call (all ranks)</h2>
<div id="calls"></div>
<script id="data" type="application/json">${json}</script>
<script>
(function(){
var D=JSON.parse(document.getElementById('data').textContent);
var PAL=['#4a7fd0','#d0694a','#4ab07a','#b04ab0','#c9a227','#3fb5c4','#8a6d3b','#e05d8c','#6a6ad8','#7a9a2a'];
function col(i){return PAL[i%PAL.length];}
var t0=Infinity,t1=-Infinity;
D.ranks.forEach(function(r){r.ev.forEach(function(e){if(e[1]<t0)t0=e[1];if(e[1]+e[2]>t1)t1=e[1]+e[2];});});
if(!isFinite(t0)){t0=0;t1=1;} if(t1<=t0)t1=t0+1;
var full=[t0-(t1-t0)*0.01,t1+(t1-t0)*0.01], view=full.slice();
var cvs=[].slice.call(document.querySelectorAll('canvas.lane'));
var byRank={}; D.ranks.forEach(function(r){byRank[r.rank]=r;});
var axis=document.getElementById('axiscv');
function fmt(ms){var a=Math.abs(ms);return a>=1000?(ms/1000).toFixed(3)+' s':a>=1?ms.toFixed(2)+' ms':(ms*1000).toFixed(1)+' us';}
function size(c){var w=c.clientWidth||800,h=c.clientHeight||22,d=window.devicePixelRatio||1;c.width=w*d;c.height=h*d;var g=c.getContext('2d');g.setTransform(d,0,0,d,0,0);return {g:g,w:w,h:h};}
function x(ms,w){return (ms-view[0])/(view[1]-view[0])*w;}
function draw(){
  var a=size(axis),g=a.g;g.clearRect(0,0,a.w,a.h);g.fillStyle='#444';g.font='11px sans-serif';
  for(var i=0;i<=8;i++){var ms=view[0]+(view[1]-view[0])*i/8,px=a.w*i/8;g.fillRect(px,a.h-4,1,4);g.fillText(fmt(ms),Math.min(px+2,a.w-60),11);}
  document.getElementById('span').textContent='view: '+fmt(view[1]-view[0]);
  cvs.forEach(function(c){
    var r=byRank[c.dataset.rank],s=size(c),g=s.g,lh=s.h/r.lanes,n=0;g.clearRect(0,0,s.w,s.h);
    r.ev.forEach(function(e){var a0=x(e[1],s.w),a1=x(e[1]+e[2],s.w);if(a1<0||a0>s.w)return;
      g.fillStyle=(e[4]&4)?'#e00':col(e[0]);g.fillRect(a0,e[3]*lh+1,Math.max(1,a1-a0),lh-2);n++;});
    c.dataset.drawn=String(n);
  });
  drawFlows();
}
var ov=document.createElement('canvas');ov.style.cssText='position:absolute;pointer-events:none;left:0;top:0';document.body.appendChild(ov);
function drawFlows(){
  var tl=document.getElementById('timeline').getBoundingClientRect(),first=cvs[0];
  ov.style.left=(tl.left+window.scrollX)+'px';ov.style.top=(tl.top+window.scrollY)+'px';
  var d=window.devicePixelRatio||1;ov.width=tl.width*d;ov.height=tl.height*d;ov.style.width=tl.width+'px';ov.style.height=tl.height+'px';
  var g=ov.getContext('2d');g.setTransform(d,0,0,d,0,0);g.clearRect(0,0,tl.width,tl.height);if(!first)return;
  var pos={};cvs.forEach(function(c){var b=c.getBoundingClientRect();pos[c.dataset.rank]={l:b.left-tl.left,t:b.top-tl.top,w:b.width,h:b.height,lanes:byRank[c.dataset.rank].lanes};});
  g.strokeStyle='rgba(0,0,0,0.45)';g.lineWidth=1;var n=0;
  D.flows.forEach(function(f){var a=pos[f[0]],b=pos[f[3]];if(!a||!b)return;
    var xa=a.l+x(f[2],a.w),xb=b.l+x(f[5],b.w);if((xa<a.l&&xb<b.l)||(xa>a.l+a.w&&xb>b.l+b.w))return;
    var ya=a.t+(f[1]+0.5)*a.h/a.lanes,yb=b.t+(f[4]+0.5)*b.h/b.lanes;g.beginPath();g.moveTo(xa,ya);g.lineTo(xb,yb);g.stroke();n++;});
  ov.dataset.flows=String(n);
}
var drag=null;
cvs.concat([axis]).forEach(function(c){
  c.addEventListener('wheel',function(ev){ev.preventDefault();var b=c.getBoundingClientRect(),f=(ev.clientX-b.left)/b.width,at=view[0]+(view[1]-view[0])*f,k=ev.deltaY>0?1.25:0.8;
    var span=Math.max((view[1]-view[0])*k,1e-6);view=[at-span*f,at+span*(1-f)];draw();},{passive:false});
  c.addEventListener('mousedown',function(ev){drag={x:ev.clientX,v:view.slice(),w:c.getBoundingClientRect().width};});
  c.addEventListener('dblclick',function(){view=full.slice();draw();});
  c.addEventListener('mousemove',function(ev){tip(ev,c);});
  c.addEventListener('mouseleave',function(){document.getElementById('tip').style.display='none';});
});
window.addEventListener('mousemove',function(ev){if(!drag)return;var d=(ev.clientX-drag.x)/drag.w*(drag.v[1]-drag.v[0]);view=[drag.v[0]-d,drag.v[1]-d];draw();});
window.addEventListener('mouseup',function(){drag=null;});
window.addEventListener('resize',draw);
function tip(ev,c){var el=document.getElementById('tip'),r=byRank[c.dataset.rank];if(!r||drag){el.style.display='none';return;}
  var b=c.getBoundingClientRect(),ms=view[0]+(view[1]-view[0])*(ev.clientX-b.left)/b.width,lane=Math.floor((ev.clientY-b.top)/b.height*r.lanes),hit=null;
  r.ev.forEach(function(e){if(e[3]===lane&&e[1]<=ms&&e[1]+e[2]>=ms)hit=e;});
  if(!hit){el.style.display='none';return;}
  var t=D.names[hit[0]]+'  '+fmt(hit[2])+'\\nat '+fmt(hit[1])+'  comm '+hit[8];
  if(hit[5]>=0)t+='\\n'+((hit[4]&1)?'dest ':(hit[4]&2)?'source ':'root ')+hit[5];if(hit[6]>=0)t+='  tag '+hit[6];if(hit[7]>=0)t+='  '+hit[7]+' bytes';if(hit[4]&4)t+='\\nfailed';
  el.textContent=t;el.style.display='block';el.style.left=(ev.clientX+12)+'px';el.style.top=(ev.clientY+12)+'px';}
// the bytes matrix
(function(){var P=D.profile,n=P.ranks,max=0,h='<table class="m"><tr><th></th>';
  for(var s=0;s<n;s++)for(var d=0;d<n;d++)max=Math.max(max,P.bytes[s][d]);
  for(var d2=0;d2<n;d2++)h+='<th>'+d2+'</th>';h+='</tr>';
  for(var s2=0;s2<n;s2++){h+='<tr><th>'+s2+'</th>';for(var d3=0;d3<n;d3++){var b=P.bytes[s2][d3],m=P.messages[s2][d3],k=max>0?b/max:0;
    h+='<td class="cell" title="'+m+' messages" style="background:rgba(74,127,208,'+(0.08+0.8*k).toFixed(2)+')">'+(m?b:'')+'</td>';}h+='</tr>';}
  document.getElementById('matrix').innerHTML=h+'</table>';})();
// time per call
(function(){var P=D.profile,max=0,h='';P.calls.forEach(function(c){max=Math.max(max,c.totalMs);});
  P.calls.forEach(function(c){h+='<div class="bar"><span class="n">'+c.call+' ('+c.count+')</span><span class="b" style="width:'+(max>0?Math.max(1,400*c.totalMs/max):1).toFixed(0)+'px"></span><span class="v">'+fmt(c.totalMs)+', '+(c.share*100).toFixed(1)+'% of the ranks\\' time</span></div>';});
  document.getElementById('calls').innerHTML=h||'<div>no calls</div>';})();
draw();
document.body.dataset.ready='1';
})();
</script>
</body></html>
`;
}
