import type { Request, Response } from 'express';
import type { GatewayDeps } from '../types.js';

/** GET / : a small status page; it reads only the /api/v1 JSON. */
export function webHandler(deps: GatewayDeps) {
  const prefix = deps.config.web.routePrefix;
  const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Lethe</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left}code{font-size:.9em}</style>
</head><body>
<h1>Lethe</h1>
<p>A Pushgateway that forgets what should be forgotten. Groups stored: <span id="count">…</span></p>
<table><thead><tr><th>Grouping key</th><th>Families</th><th>Last push</th></tr></thead><tbody id="groups"></tbody></table>
<script>
fetch(${JSON.stringify(`${prefix}/api/v1/metrics`)}).then(r => r.json()).then(body => {
  const rows = document.getElementById('groups');
  document.getElementById('count').textContent = String(body.data.length);
  for (const g of body.data) {
    const tr = document.createElement('tr');
    const key = Object.entries(g.labels).map(([k, v]) => k + '="' + v + '"').join(', ');
    const names = Object.keys(g).filter(k => k !== 'labels' && k !== 'last_push_successful');
    const pushed = g.push_time_seconds ? g.push_time_seconds.time_stamp : '';
    for (const text of [key, String(names.length), pushed]) {
      const td = document.createElement('td'); td.textContent = text; tr.appendChild(td);
    }
    rows.appendChild(tr);
  }
});
</script>
</body></html>
`;
  return (_req: Request, res: Response): void => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.status(200).end(page);
  };
}
