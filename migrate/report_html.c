/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * report_html.c - the report as one self-contained HTML file: the JSON report
 * embedded in the page and drawn by a small script into SVG (a timeline with one
 * bar per VM and step, a throughput chart, a table of VMs and disks).  No
 * network asset, so it opens anywhere, from a mail attachment or a share; a
 * report of a running plan reloads itself every 10 seconds.
 */
#include "migrate/migrate.h"
#include "common/strbuf.h"
#include "common/err.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>


static const char head[] =
"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
"%s<title>imgtool migrate report</title>\n<style>\n"
"body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}\n"
"h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}\n"
".sub{color:#5b6475}.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}\n"
".card{background:#fff;border:1px solid #dfe3ea;border-radius:6px;padding:10px 14px;min-width:110px}\n"
".card b{display:block;font-size:22px}.card.failed b{color:#c0392b}.card.done b{color:#1e8449}\n"
"svg{background:#fff;border:1px solid #dfe3ea;border-radius:6px}\n"
"table{border-collapse:collapse;background:#fff;width:100%%}\n"
"td,th{border:1px solid #dfe3ea;padding:4px 8px;text-align:left;vertical-align:top}\n"
"th{background:#eef1f5}.st-done{color:#1e8449}.st-failed{color:#c0392b;font-weight:bold}\n"
".st-running{color:#b9770e}.mono{font-family:ui-monospace,monospace;font-size:12px}\n"
".legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;"
"width:12px;height:12px;margin-right:4px;vertical-align:middle}\n"
"</style></head><body>\n<h1>imgtool migrate</h1><div class=\"sub\" id=\"sub\"></div>\n"
"<div class=\"cards\" id=\"cards\"></div>\n"
"<h2>Timeline</h2><div class=\"legend\" id=\"legend\"></div><div id=\"timeline\"></div>\n"
"<h2>Throughput</h2><div id=\"chart\"></div>\n"
"<h2>Virtual machines</h2><div id=\"table\"></div>\n"
"<div id=\"warm\"></div>\n"
"<script id=\"report\" type=\"application/json\">";

static const char tail[] =
"</script>\n<script>\n"
"'use strict';\n"
"const R=JSON.parse(document.getElementById('report').textContent);\n"
"const NS='http://www.w3.org/2000/svg';\n"
"function el(n,a,p){const e=document.createElementNS(NS,n);for(const k in a)e.setAttribute(k,a[k]);if(p)p.appendChild(e);return e;}\n"
"function h(n,t,p){const e=document.createElement(n);if(t!==undefined)e.textContent=t;if(p)p.appendChild(e);return e;}\n"
"function size(b){const u=['B','KiB','MiB','GiB','TiB'];let i=0;while(b>=1024&&i<4){b/=1024;i++;}return b.toFixed(i?1:0)+' '+u[i];}\n"
"function dur(s){if(s<10)return Math.max(0,s).toFixed(1)+'s';s=Math.round(s);return (s>=3600?Math.floor(s/3600)+'h ':'')+(s>=60?Math.floor(s/60)%60+'m ':'')+s%60+'s';}\n"
"const T=R.totals,now=R.generated;\n"
"document.getElementById('sub').textContent='plan '+R.plan+' \\u2014 report of '+new Date(now*1000).toLocaleString()+(T.running+T.pending?' (running: this page reloads every 10 s)':'');\n"
"const cards=document.getElementById('cards');\n"
"[['VMs',T.vms,''],['done',T.done,'done'],['failed',T.failed,'failed'],['running',T.running,''],['pending',T.pending,''],['written',size(T.bytes_written),''],['elapsed',T.started?dur((T.running+T.pending?now:(T.ended||now))-T.started):'-','']].forEach(c=>{const d=h('div','',cards);d.className='card '+c[2];h('b',String(c[1]),d);h('span',c[0],d);});\n"
"const colors={copy:'#3a7bd5',verify:'#7f8c8d',convert:'#8e44ad',customize:'#16a085',sysprep:'#d35400',commit:'#2c3e50',output:'#27ae60',other:'#95a5a6'};\n"
"function kind(s){for(const k in colors)if(s.indexOf(k)===0)return k;return 'other';}\n"
"const lg=document.getElementById('legend');for(const k in colors){const s=h('span','',lg);const i=h('i','',s);i.style.background=colors[k];s.appendChild(document.createTextNode(k));}\n"
"(function timeline(){const vms=R.vms;let t0=Infinity,t1=0;vms.forEach(v=>v.steps.forEach(s=>{if(s.started){t0=Math.min(t0,s.started);t1=Math.max(t1,s.ended||now);}}));\n"
" const W=1000,L=160,row=22,H=Math.max(1,vms.length)*row+30;const svg=el('svg',{width:'100%',viewBox:'0 0 '+W+' '+H,role:'img'},document.getElementById('timeline'));\n"
" if(!(t1>t0)){el('text',{x:10,y:20},svg).textContent='nothing has run yet';return;}\n"
" const x=t=>L+(W-L-10)*(t-t0)/(t1-t0);\n"
" for(let i=0;i<=4;i++){const t=t0+(t1-t0)*i/4;el('line',{x1:x(t),x2:x(t),y1:0,y2:H-20,stroke:'#eee'},svg);el('text',{x:x(t),y:H-6,'font-size':11,'text-anchor':'middle',fill:'#5b6475'},svg).textContent='+'+dur(t-t0);}\n"
" vms.forEach((v,i)=>{const y=i*row+4;const t=el('text',{x:4,y:y+13,'font-size':12,fill:v.status==='failed'?'#c0392b':'#1d2330'},svg);t.textContent=v.name;\n"
"  v.steps.forEach(s=>{if(!s.started)return;const e=s.ended||now;const r=el('rect',{x:x(s.started),y:y,width:Math.max(2,x(e)-x(s.started)),height:row-6,rx:2,fill:s.status==='failed'?'#c0392b':colors[kind(s.name)],opacity:s.status==='running'?0.6:1},svg);\n"
"   el('title',{},r).textContent=v.name+': '+s.name+' ('+s.status+', '+dur(e-s.started)+')'+(s.detail?'\\n'+s.detail:'');});});})();\n"
"(function chart(){const S=R.samples;const W=1000,H=220,L=70,B=30;const svg=el('svg',{width:'100%',viewBox:'0 0 '+W+' '+H,role:'img'},document.getElementById('chart'));\n"
" const pts=[];const by={};S.forEach(s=>{(by[s[2]]=by[s[2]]||[]).push(s);});\n"
" for(const k in by){const a=by[k];for(let i=1;i<a.length;i++){const dt=a[i][0]-a[i-1][0];if(dt>0)pts.push([a[i-1][0],a[i][0],Math.max(0,a[i][1]-a[i-1][1])/dt]);}}\n"
" if(!pts.length){el('text',{x:10,y:20},svg).textContent='no throughput samples yet';return;}\n"
" const t0=Math.min(...pts.map(p=>p[0])),t1=Math.max(...pts.map(p=>p[1]));const N=Math.min(120,Math.max(2,pts.length));const bw=(t1-t0)/N||1;const b=new Array(N).fill(0);\n"
" pts.forEach(p=>{for(let i=0;i<N;i++){const a=t0+i*bw,z=a+bw;const o=Math.max(0,Math.min(z,p[1])-Math.max(a,p[0]));if(o>0)b[i]+=p[2]*o/bw;}});\n"
" const max=Math.max(...b)||1;const x=i=>L+(W-L-10)*i/N,y=v=>H-B-(H-B-10)*v/max;\n"
" for(let i=0;i<=4;i++){const v=max*i/4;el('line',{x1:L,x2:W-10,y1:y(v),y2:y(v),stroke:'#eee'},svg);el('text',{x:L-6,y:y(v)+4,'font-size':11,'text-anchor':'end',fill:'#5b6475'},svg).textContent=size(v)+'/s';}\n"
" let d='M'+x(0)+' '+y(0);b.forEach((v,i)=>{d+=' L'+x(i)+' '+y(v)+' L'+x(i+1)+' '+y(v);});d+=' L'+x(N)+' '+y(0)+' Z';el('path',{d:d,fill:'#3a7bd5',opacity:0.35,stroke:'#3a7bd5'},svg);\n"
" el('text',{x:L,y:H-8,'font-size':11,fill:'#5b6475'},svg).textContent='0';el('text',{x:W-10,y:H-8,'font-size':11,'text-anchor':'end',fill:'#5b6475'},svg).textContent='+'+dur(t1-t0);})();\n"
"(function table(){const t=h('table','',document.getElementById('table'));const hr=h('tr','',t);['VM','mode','status','time','disks','error'].forEach(c=>h('th',c,hr));\n"
" R.vms.forEach(v=>{const tr=h('tr','',t);h('td',v.name,tr);h('td',v.mode,tr);const s=h('td',v.status,tr);s.className='st-'+v.status;\n"
"  h('td',v.started?dur((v.ended||now)-v.started):'-',tr);const dk=h('td','',tr);dk.className='mono';\n"
"  v.disks.forEach(d=>{h('div',d.source+' \\u2192 '+(d.output||'?')+' ['+d.status+(d.size?', '+size(d.size):'')+(d.bytes_written?', '+size(d.bytes_written)+' written':'')+(d.resumed_from?', resumed at '+size(d.resumed_from):'')+(d.copied_by?', copied by '+d.copied_by:'')+']',dk);\n"
"   if(d.source_checksum)h('div','sha '+d.source_checksum.slice(0,16)+'\\u2026 '+(d.source_checksum===d.output_checksum?'= copy':'\\u2260 copy '+(d.output_checksum||'').slice(0,16)),dk);});\n"
"  h('td',v.error||'',tr);});})();\n"
"(function warm(){const W=R.vms.filter(v=>v.warm);if(!W.length)return;const box=document.getElementById('warm');h('h2','Warm migrations',box);\n"
" const t=h('table','',box);const hr=h('tr','',t);['VM','pass','kind','status','time','written','zeroed','downtime'].forEach(c=>h('th',c,hr));\n"
" W.forEach(v=>{const w=v.warm;const dt=w.downtime!==undefined&&w.downtime!==null?dur(w.downtime)+' (source stopped \\u2192 final sync done)':(w.stopped?'running since the stop':'source running');\n"
"  (w.passes.length?w.passes:[{}]).forEach((p,i)=>{const tr=h('tr','',t);h('td',i?'':v.name,tr);h('td',p.n===undefined?'-':String(p.n),tr);h('td',p.kind||'-',tr);const s=h('td',p.status||'-',tr);s.className='st-'+p.status;\n"
"   h('td',p.duration!==undefined&&p.duration!==null?dur(p.duration):'-',tr);h('td',p.bytes_written!==undefined?size(p.bytes_written):'-',tr);h('td',p.bytes_zeroed!==undefined?size(p.bytes_zeroed):'-',tr);h('td',i?'':dt,tr);});});})();\n"
"</script>\n</body></html>\n";

/* The JSON inside a <script> element must not close it or open a comment: '<'
 * can only stand inside a JSON string, where \u003c means the same. */
static void add_json(struct strbuf *b, const char *json)
{
	for (const char *p = json; *p; p++) {
		size_t n = strcspn(p, "<");

		strbuf_add(b, p, n);
		p += n;
		if (!*p)
			break;
		strbuf_add(b, "\\u003c", 6);
	}
}

static bool still_running(struct json_object *report)
{
	struct json_object *t, *x;
	int n = 0;

	if (!json_object_object_get_ex(report, "totals", &t))
		return false;
	if (json_object_object_get_ex(t, "running", &x))
		n += json_object_get_int(x);
	if (json_object_object_get_ex(t, "pending", &x))
		n += json_object_get_int(x);
	return n > 0;
}

int mig_report_html(struct json_object *report, const char *path)
{
	struct strbuf b = { 0 };
	int ret;

	strbuf_printf(&b, head, still_running(report)
		      ? "<meta http-equiv=\"refresh\" content=\"10\">\n" : "");
	add_json(&b, json_object_to_json_string_ext(report, JSON_C_TO_STRING_PLAIN));
	strbuf_add(&b, tail, strlen(tail));
	if (b.oom) {
		strbuf_free(&b);
		return err_set(-ENOMEM, path, "out of memory for the report");
	}
	ret = mig_report_html_write(path, strbuf_str(&b));
	strbuf_free(&b);
	return ret;
}
