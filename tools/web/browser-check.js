#!/usr/bin/env node
// browser-check.js SITE CHROMIUM: load every page of the built site in
// headless Chromium, from file:// with the network off, and report a page
// that does not load, has an image the browser could not draw, or is wider
// than a phone (390px: a reader would have to scroll the whole page
// sideways; a code block scrolling inside itself is fine).
//
// One browser run for all pages: a harness page (in a scratch folder, not
// in the site) loads each page in a 390px-wide iframe and writes what it
// measured into its own DOM, which --dump-dom prints.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const [site, chromium] = process.argv.slice(2);
if (!site || !chromium) {
    console.error('usage: node tools/web/browser-check.js SITE_DIR CHROMIUM');
    process.exit(2);
}
const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]);
const pages = walk(path.resolve(site)).filter((f) => f.endsWith('.html')).sort();
const url = (f) => 'file://' + f.split(path.sep).map(encodeURIComponent).join('/');

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'browser-check-'));
const harness = path.join(scratch, 'harness.html');
fs.writeFileSync(harness, `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<pre id="out"></pre>
<script>
const pages = ${JSON.stringify(pages.map(url))};
const out = [];
let left = pages.length;
function measure(frame, page) {
  let doc;
  try { doc = frame.contentDocument; } catch (e) { out.push('ERR ' + page + ' cannot inspect: ' + e); return; }
  if (!doc || !doc.querySelector('main')) { out.push('ERR ' + page + ' did not load (no <main>)'); return; }
  for (const img of doc.images) {
    if (!img.complete || img.naturalWidth === 0) out.push('ERR ' + page + ' image not drawn: ' + img.getAttribute('src'));
  }
  for (const link of doc.querySelectorAll('link[rel=stylesheet]')) {
    if (!link.sheet) out.push('ERR ' + page + ' stylesheet not loaded: ' + link.getAttribute('href'));
  }
  const w = doc.documentElement.scrollWidth, vw = doc.documentElement.clientWidth;
  if (w > vw + 1) out.push('ERR ' + page + ' is ' + w + 'px wide in a ' + vw + 'px phone window');
  out.push('OK ' + page + ' images=' + doc.images.length);
}
function next(i) {
  if (i >= pages.length) { document.getElementById('out').textContent = out.join('\\n') + '\\nDONE'; return; }
  const f = document.createElement('iframe');
  f.style.width = '390px'; f.style.height = '700px'; f.style.border = '0';
  f.onload = () => { setTimeout(() => { measure(f, pages[i]); f.remove(); next(i + 1); }, 30); };
  f.src = pages[i];
  document.body.appendChild(f);
}
next(0);
</script></body></html>
`);

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'browser-check-profile-'));
let dom;
try {
    dom = execFileSync(chromium, [
        '--headless', '--no-sandbox', '--hide-scrollbars', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        `--user-data-dir=${profile}`, '--allow-file-access-from-files',
        // Virtual time runs the harness to the end before the DOM is dumped.
        `--virtual-time-budget=${Math.max(20000, pages.length * 2000)}`,
        '--window-size=1280,900', '--dump-dom', url(harness),
    ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 120000 });
} finally {
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.rmSync(profile, { recursive: true, force: true });
}
const m = /<pre id="out">([\s\S]*?)<\/pre>/.exec(dom);
const lines = m ? m[1].split('\n').map((l) => l.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>')) : [];
if (!lines.includes('DONE')) {
    console.log('browser-check: the harness did not finish in Chromium');
    process.exit(1);
}
const errors = lines.filter((l) => l.startsWith('ERR '));
const ok = lines.filter((l) => l.startsWith('OK '));
const rootUrl = url(path.resolve(site)) + '/';
for (const e of errors) console.log(e.replace(rootUrl, ''));
const images = ok.reduce((n, l) => n + +(/images=(\d+)/.exec(l) || [0, 0])[1], 0);
console.log(`browser-check: ${ok.length}/${pages.length} pages loaded in Chromium, ${images} images drawn, `
    + `${errors.length} problems`);
process.exit(errors.length || ok.length !== pages.length ? 1 : 0);
