import { createHash } from 'node:crypto';
import { WEB_SCRIPT } from './web-script.js';

/**
 * The web page: one static HTML document with its style and script inline, so the page makes
 * no request but to Lethe's own `/api/v1/groups` (and the DELETE of a group). No build step.
 */

export interface WebPageOptions {
  /** The route prefix ('' or '/path'), under which the page calls the API. */
  readonly routePrefix: string;
  readonly telemetryPath: string;
}

export interface WebPage {
  readonly html: string;
  /** The Content-Security-Policy allowing exactly the inline style and script (by hash). */
  readonly contentSecurityPolicy: string;
}

const CSS = `
:root{--bg:#f5f6f8;--fg:#1c2430;--muted:#687282;--line:#e1e5ea;--card:#fff;--head:#17202c;--accent:#4263eb;
--bad:#c92a2a;--bad-bg:#fff1f1;--bad-line:#f3c4c4;--warn:#a65200;--warn-bg:#fff5e6;--warn-line:#f5d5a8;
--ok:#2b8a3e;--ok-bg:#ebf9ee;--ok-line:#b9e4c3;--info:#3b5bdb;--info-bg:#eef2ff;--info-line:#c9d3fb;--chip:#eef1f5;--hover:#fafbfc}
@media (prefers-color-scheme:dark){:root{--bg:#12161c;--fg:#e3e7ec;--muted:#98a2b0;--line:#2a313b;--card:#1a1f27;--head:#0b0e12;
--bad:#ff8787;--bad-bg:#3a1d20;--bad-line:#5c2b30;--warn:#ffc078;--warn-bg:#3a2a14;--warn-line:#5a4220;--ok:#8ce99a;--ok-bg:#183222;
--ok-line:#28503a;--info:#a5b4fc;--info-bg:#1f2547;--info-line:#334080;--chip:#252c36;--hover:#1f252e}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
code,.mono,.label,.samples,.facts dd,.family h3{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
header{display:flex;align-items:baseline;gap:1.25rem;flex-wrap:wrap;padding:.9rem 2rem;background:var(--head);color:#f1f3f5}
header h1{margin:0;font-size:1.3rem;letter-spacing:.02em}
header .tagline{margin:0;color:#a9b3c1;font-size:.9rem}
header nav{margin-left:auto;display:flex;gap:1rem}
header a{color:#c5d0ff;text-decoration:none;font-size:.85rem}
header a:hover,header a:focus-visible{text-decoration:underline}
main{padding:1.1rem 2rem 2rem}
.toolbar{display:flex;align-items:center;gap:1.25rem;flex-wrap:wrap;margin-bottom:.8rem}
.filters{display:flex;align-items:center;gap:.5rem;flex-wrap:wrap}
.filters label{font-size:.8rem;color:var(--muted);font-weight:600}
select,input,button{font:inherit;color:inherit}
select,input[type=search]{padding:.3rem .5rem;border:1px solid var(--line);border-radius:6px;background:var(--card);min-width:11rem}
.summary{margin:0;display:flex;align-items:center;gap:.4rem;flex-wrap:wrap}
.right{margin-left:auto;display:flex;align-items:center;gap:.6rem}
button{cursor:pointer;border:1px solid var(--line);background:var(--card);border-radius:6px;padding:.28rem .75rem}
button:hover{border-color:var(--muted)}
button:focus-visible,select:focus-visible,input:focus-visible,a:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
button.danger{color:var(--bad);border-color:var(--bad-line)}
button.danger:hover{background:var(--bad);border-color:var(--bad);color:#fff}
.error{color:var(--bad);background:var(--bad-bg);border:1px solid var(--bad-line);padding:.5rem .75rem;border-radius:6px}
.status{margin:.2rem 0 .8rem;color:var(--ok)}
.status:empty{display:none}
.status.failed{color:var(--bad)}

.table-wrap{overflow-x:auto}
table.groups{width:100%;border-collapse:separate;border-spacing:0;background:var(--card);border:1px solid var(--line);border-radius:8px;overflow:hidden}
table.groups th{text-align:left;font-size:.72rem;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);background:var(--hover);padding:.55rem .75rem;font-weight:600;white-space:nowrap}
table.groups td{padding:.6rem .75rem;border-top:1px solid var(--line);vertical-align:top}
tr.group:hover>td{background:var(--hover)}
tr.failed>td:first-child{box-shadow:inset 4px 0 var(--warn)}
tr.overdue>td{background:var(--bad-bg)}
tr.overdue>td:first-child{box-shadow:inset 4px 0 var(--bad)}
tr.overdue:hover>td{background:var(--bad-bg)}
.expander{display:flex;flex-wrap:wrap;align-items:center;gap:.3rem;border:0;background:none;padding:0;text-align:left}
.chev{display:inline-block;width:1rem;color:var(--muted)}
.label{display:inline-flex;border:1px solid var(--line);border-radius:4px;font-size:.78rem;overflow:hidden}
.label .ln{background:var(--chip);color:var(--muted);padding:0 .35rem}
.label .lv{padding:0 .35rem}
.notes{margin:.3rem 0 0 1.3rem;display:flex;gap:.3rem;flex-wrap:wrap}
.badge{display:inline-block;font-size:.72rem;font-weight:600;padding:.05rem .5rem;border-radius:999px;border:1px solid;white-space:nowrap}
td .badge{margin-left:.3rem}
.notes .badge{margin-left:0}
.badge.bad{color:var(--bad);background:var(--bad-bg);border-color:var(--bad-line)}
.badge.warn{color:var(--warn);background:var(--warn-bg);border-color:var(--warn-line)}
.badge.ok{color:var(--ok);background:var(--ok-bg);border-color:var(--ok-line)}
.badge.info{color:var(--info);background:var(--info-bg);border-color:var(--info-line);font-weight:500}
.sub{color:var(--muted);font-size:.78rem}
.muted{color:var(--muted)}
td.actions{text-align:right;white-space:nowrap}
td.time{white-space:nowrap}
td.key{min-width:19rem}
tr.empty td{color:var(--muted);text-align:center;padding:1.5rem}
tr.detail>td{background:var(--hover);padding:.8rem 1rem 1rem 2.3rem}
.facts{display:flex;flex-wrap:wrap;gap:.4rem 2rem;margin:0 0 .8rem}
.facts dt{font-size:.7rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);font-weight:600}
.facts dd{margin:0;font-size:.8rem}
.families{display:grid;grid-template-columns:repeat(auto-fill,minmax(22rem,1fr));gap:.7rem}
.family{border:1px solid var(--line);border-radius:6px;background:var(--card);padding:.5rem .7rem}
.family.meta{opacity:.7}
.family h3{margin:0;font-size:.82rem;font-weight:600;display:flex;align-items:baseline;gap:.4rem;flex-wrap:wrap}
.family .type{font-size:.68rem;color:var(--info);background:var(--info-bg);border-radius:3px;padding:0 .3rem}
.family .help{margin:.15rem 0 .3rem;color:var(--muted);font-size:.8rem}
.samples{width:100%;border-collapse:collapse;font-size:.78rem}
.samples td{padding:.1rem 0;border:0;vertical-align:top}
.samples td.series{word-break:break-all;padding-right:1rem}
.samples td.value{text-align:right;white-space:nowrap}
.samples tr.part td.series{padding-left:1.2rem;color:var(--muted)}
dialog{border:1px solid var(--line);border-radius:10px;padding:1.2rem 1.5rem;max-width:34rem;background:var(--card);color:var(--fg);box-shadow:0 12px 40px rgba(0,0,0,.25)}
dialog::backdrop{background:rgba(15,23,42,.45)}
dialog h2{margin:0 0 .6rem;font-size:1.1rem}
dialog code{display:block;background:var(--chip);padding:.4rem .6rem;border-radius:5px;margin:.2rem 0 .6rem;word-break:break-all}
.buttons{display:flex;justify-content:flex-end;gap:.6rem;margin-top:1rem}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
[hidden]{display:none!important}
`;

/** Escapes text for an HTML text node or a double-quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

export function renderWebPage(options: WebPageOptions): WebPage {
  const prefix = escapeHtml(options.routePrefix);
  const link = (path: string, text: string): string => `<a href="${prefix}${escapeHtml(path)}">${escapeHtml(text)}</a>`;
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<title>Lethe</title>
<style>${CSS}</style>
</head>
<body data-prefix="${prefix}">
<header>
<h1>Lethe</h1>
<p class="tagline">a Pushgateway that forgets what should be forgotten</p>
<nav aria-label="Endpoints">${link(options.telemetryPath, 'metrics')} ${link('/api/v1/groups', 'api/v1/groups')} ${link('/api/v1/status', 'api/v1/status')}</nav>
</header>
<main>
<div class="toolbar">
<div class="filters" role="search" aria-label="Filter groups">
<label for="f-namespace">Namespace</label>
<select id="f-namespace"></select>
<label for="f-job">Job</label>
<input id="f-job" type="search" list="jobs" placeholder="any job" autocomplete="off" spellcheck="false">
<datalist id="jobs"></datalist>
</div>
<p id="summary" class="summary"></p>
<div class="right"><span id="updated" class="sub"></span><button type="button" id="refresh">Refresh</button></div>
</div>
<p id="error" class="error" role="alert" hidden></p>
<p id="status" class="status" role="status" aria-live="polite"></p>
<div class="table-wrap">
<table class="groups">
<caption class="visually-hidden">Stored metric groups</caption>
<thead><tr><th scope="col">Group</th><th scope="col">Namespace</th><th scope="col">Owner</th><th scope="col">Last push</th><th scope="col">Last scrape</th><th scope="col">Policy</th><th scope="col">Next deletion</th><th scope="col" id="col-actions" hidden><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody id="groups"><tr class="empty"><td colspan="8">Loading…</td></tr></tbody>
</table>
</div>
</main>
<dialog id="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-text">
<h2 id="confirm-title">Delete this group?</h2>
<div id="confirm-text"><code id="confirm-key"></code><p>This removes <span id="confirm-series"></span> from the scrape at once; a later push creates the group again.</p></div>
<div class="buttons"><button type="button" id="confirm-cancel" autofocus>Cancel</button><button type="button" id="confirm-delete" class="danger">Delete group</button></div>
</dialog>
<script>${WEB_SCRIPT}</script>
</body>
</html>
`;
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src ${sha256(WEB_SCRIPT)}`,
    `style-src ${sha256(CSS)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
  return { html, contentSecurityPolicy };
}
