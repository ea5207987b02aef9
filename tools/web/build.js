#!/usr/bin/env node
// build.js [--root REPO] OUT: the course as a static web book, opened from file:// with
// no network (make html).  Three ways to read it, one site:
//
//   index.html                 README.md, with the contents of the book
//   docs/NAME.html             every chapter docs/*.md, images in docs/img/
//   STAGE/FILE.html            every source file of a stage as annotated
//                              source: full-line comments as prose beside
//                              the code they introduce, an anchor per function
//   STAGE/diff.html            from stage 02 on, the diff from the stage before
//
// Everything is discovered: a stage is any NN-name/ folder with a Makefile,
// a chapter any docs/*.md.  Half-written stages are rendered as far as their
// files go.  The tools: markdown-it (+ markdown-it-anchor, github-slugger for
// GitHub's heading ids) for Markdown, highlight.js for C and make, jsdiff for
// the unified diffs and diff2html to lay them out.  What is ours is only the
// glue: splitting a source file into comment/code sections, and the pages.
'use strict';
const fs = require('fs');
const path = require('path');
const MarkdownIt = require('markdown-it');
const markdownItAnchor = require('markdown-it-anchor');
const hljs = require('highlight.js/lib/core');
const Diff = require('diff');
const Diff2Html = require('diff2html');

hljs.registerLanguage('c', require('highlight.js/lib/languages/c'));
hljs.registerLanguage('makefile', require('highlight.js/lib/languages/makefile'));
hljs.registerLanguage('bash', require('highlight.js/lib/languages/bash'));
hljs.registerLanguage('diff', require('highlight.js/lib/languages/diff'));
hljs.registerLanguage('plaintext', require('highlight.js/lib/languages/plaintext'));
hljs.registerAliases(['sh', 'shell', 'console'], { languageName: 'bash' });
hljs.registerAliases(['h', 'C'], { languageName: 'c' });
hljs.registerAliases(['make', 'mk'], { languageName: 'makefile' });
hljs.registerAliases(['text', 'txt', 'output'], { languageName: 'plaintext' });

let ROOT = path.resolve(__dirname, '..', '..');   // --root DIR: another tree (tests)
const TITLE = 'uring-by-hand';
const MARKER = '.uring-by-hand-site';   // an output folder we may wipe

const warnings = [];
let mdProse;   // Markdown for the prose in source comments (made in main)
function warn(msg) { warnings.push(msg); console.error(`build.js: warning: ${msg}`); }

// ---- Reading the repository ----

const exists = (rel) => fs.existsSync(path.join(ROOT, rel));
const read = (rel) => fs.readFileSync(path.join(ROOT, rel), 'utf8');
const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) =>
    ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

// The variables a stage Makefile sets at the top (PROG, PREV, PREV_SRC ...).
function makeVars(text) {
    const vars = {};
    for (const line of text.split('\n')) {
        const m = /^([A-Z_]+)\s*[:?]?=\s*(.*?)\s*$/.exec(line);
        if (m && !(m[1] in vars)) vars[m[1]] = m[2];
    }
    return vars;
}

function discoverStages() {
    const stages = [];
    for (const name of fs.readdirSync(ROOT).sort()) {
        if (!/^\d\d-[\w.-]+$/.test(name) || !exists(`${name}/Makefile`)) continue;
        const vars = makeVars(read(`${name}/Makefile`));
        const prog = vars.PROG || name.replace(/^\d\d-/, '');
        const here = fs.readdirSync(path.join(ROOT, name));
        // PROG.c first, then any other C source, the headers, the Makefile.
        const files = [];
        if (here.includes(`${prog}.c`)) files.push(`${prog}.c`);
        for (const f of here.filter((f) => f.endsWith('.c') && f !== `${prog}.c`).sort()) files.push(f);
        for (const f of here.filter((f) => f.endsWith('.h')).sort()) files.push(f);
        files.push('Makefile');
        stages.push({
            name, num: name.slice(0, 2), prog, files,
            prev: vars.PREV || '', prevSrc: vars.PREV_SRC || '',
            carried: (vars.CARRIED || '').split(/\s+/).filter(Boolean),
        });
    }
    return stages;
}

function discoverChapters() {
    if (!exists('docs')) return [];
    return fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort()
        .map((f) => ({ src: `docs/${f}`, num: /^\d\d-/.test(f) ? f.slice(0, 2) : null }));
}

// ---- Site paths: every repository path that becomes a page ----

const site = {
    pages: [],             // reading order: {out, title, short, kind}
    byRepo: new Map(),     // repository path -> site path of its page
    assets: new Map(),     // repository path -> site path of a copied file
    extra: new Map(),      // other repository files linked from a chapter
};

// The relative URL from one site page to another site path.
function rel(fromOut, toOut) {
    const r = path.posix.relative(path.posix.dirname(fromOut), toOut);
    return r === '' ? path.posix.basename(toOut) : r;
}

// Where a link to repository path `rp` goes in the site, or null.
function siteFor(rp, { image = false } = {}) {
    rp = rp.replace(/\/+$/, '');
    if (rp === '' || rp === '.') return 'index.html';
    if (!image && site.byRepo.has(rp)) return site.byRepo.get(rp);
    if (!exists(rp)) return null;
    const stat = fs.statSync(path.join(ROOT, rp));
    if (stat.isDirectory()) return site.byRepo.get(`${rp}/`) || null;
    if (image || !/\.(c|h|md|bats|bash|sh|py|txt|patch|diff|json|yml|yaml)$|(^|\/)(Makefile|run|[\w-]+)$/.test(rp)) {
        site.assets.set(rp, rp);               // copied as it is
        return rp;
    }
    const out = `files/${rp}.html`;            // a plain highlighted page
    site.extra.set(rp, out);
    site.byRepo.set(rp, out);
    return out;
}

// ---- Markdown ----

// One Markdown renderer for chapters (HTML allowed, headings get GitHub's
// ids, links into the repository rewritten to pages) and one for the prose
// in source comments (no raw HTML: `<linux/io_uring.h>` is text there).
function highlightBlock(code, lang) {
    const name = lang && hljs.getLanguage(lang) ? lang : null;
    const html = name ? hljs.highlight(code, { language: name, ignoreIllegals: true }).value
                      : escapeHtml(code);
    return `<pre class="code"><code class="hljs${name ? ` language-${name}` : ''}">${html}</code></pre>`;
}

function makeMarkdown({ html, slugger }) {
    const md = new MarkdownIt({ html, linkify: false, typographer: false, highlight: highlightBlock });
    if (slugger) {
        md.use(markdownItAnchor, {
            slugify: (s) => slugger.slug(s),
            permalink: markdownItAnchor.permalink.headerLink({ safariReaderFix: true }),
        });
    }
    // Links and images that name repository files: to their pages.
    const rewrite = (attr) => (tokens, idx, options, env, self) => {
        const tok = tokens[idx];
        const url = tok.attrGet(attr);
        if (url && env.out) tok.attrSet(attr, linkTarget(url, env, attr === 'src'));
        return self.renderToken(tokens, idx, options);
    };
    md.renderer.rules.link_open = rewrite('href');
    const image = md.renderer.rules.image;
    md.renderer.rules.image = (tokens, idx, options, env, self) => {
        const tok = tokens[idx];
        const url = tok.attrGet('src');
        if (url && env.out) tok.attrSet('src', linkTarget(url, env, true));
        // A figure fits the column, which makes a wide one small (a phone
        // shrinks ring-layout.svg to a third): it is also a link to the
        // figure alone, at full size, where the browser zooms.
        const src = md.utils.escapeHtml(tok.attrGet('src') || '');
        return `<a class="figure" href="${src}" title="Open the figure at full size">` +
            image(tokens, idx, options, env, self) +
            `<span class="figure-hint">open at full size</span></a>`;
    };
    return md;
}

// A URL as written in a Markdown file (relative to env.srcDir in the
// repository) -> a URL relative to the page being written (env.out).
function linkTarget(url, env, image) {
    if (/^([a-z][a-z0-9+.-]*:|#|\/\/)/i.test(url)) return url;
    const [p, frag] = url.split(/#(.*)/s);
    if (p === '') return url;
    let rp = path.posix.normalize(path.posix.join(env.srcDir, decodeURIComponent(p)));
    if (rp.startsWith('..')) return url;
    const to = siteFor(rp, { image });
    if (!to) { warn(`${env.src}: link to ${url}: no such file in the repository`); return url; }
    return rel(env.out, to) + (frag !== undefined ? `#${frag}` : '');
}

// `<!-- code: 02-mmap-rings/uring.h sq_publish -->` before a quoted block:
// a link to that function in the annotated source.  `<!-- diff: A B -->`:
// a link to the diff page of B's stage.
function codeLinks(md) {
    md.core.ruler.push('uring_code_links', (state) => {
        for (const tok of state.tokens) {
            if (tok.type !== 'html_block') continue;
            let m = /<!--\s*code:\s*(\S+)(?:\s+(.+?))?\s*-->/.exec(tok.content);
            if (m) {
                const [, file, name] = m;
                const to = site.byRepo.get(file);
                if (!to) { warn(`${state.env.src}: code block names ${file}, which has no page`); continue; }
                const anchor = name ? anchorId(name) : '';
                const label = !name ? path.posix.basename(file)
                    : name.startsWith('struct ') ? name : `${name}()`;
                if (anchor && !(site.anchors.get(file) || new Set()).has(anchor))
                    warn(`${state.env.src}: ${file} has no ${label} to link to`);
                tok.content += `<p class="srclink"><a href="${escapeHtml(rel(state.env.out, to) + (anchor ? `#${anchor}` : ''))}">`
                    + `see <code>${escapeHtml(label)}</code> in the annotated source</a></p>\n`;
                continue;
            }
            m = /<!--\s*diff:\s*(\S+)\s+(\S+)\s*-->/.exec(tok.content);
            if (m) {
                const stage = m[2].split('/')[0];
                const to = site.byRepo.get(`${stage}/diff`);
                if (to) tok.content += `<p class="srclink"><a href="${escapeHtml(rel(state.env.out, to))}">`
                    + `see the whole diff from the stage before</a></p>\n`;
            }
        }
    });
}

const anchorId = (name) => name.trim().replace(/^struct\s+/, 'struct-').replace(/[^\w-]/g, '-');

// ---- Highlighted code, one line at a time ----

// highlight.js output split into lines, each closing the spans it opened and
// reopening them on the next line, so that every line stands alone.
function splitHighlighted(html) {
    const lines = [];
    let open = [];      // the <span ...> tags open at this point
    let cur = '';
    const re = /(<span[^>]*>)|(<\/span>)|(\n)|([^<\n]+)/g;
    let m;
    while ((m = re.exec(html))) {
        if (m[1]) { open.push(m[1]); cur += m[1]; }
        else if (m[2]) { open.pop(); cur += m[2]; }
        else if (m[3]) { lines.push(cur + '</span>'.repeat(open.length)); cur = open.join(''); }
        else cur += m[4];
    }
    lines.push(cur + '</span>'.repeat(open.length));
    return lines;
}

function highlightLines(text, lang) {
    return splitHighlighted(hljs.highlight(text, { language: lang, ignoreIllegals: true }).value);
}

const languageOf = (file) => /\.[ch]$/.test(file) ? 'c'
    : /(^|\/)(Makefile|[\w-]*\.mk)$/.test(file) ? 'makefile'
    : /\.(bats|bash|sh)$/.test(file) ? 'bash'
    : /\.(patch|diff)$/.test(file) ? 'diff' : 'plaintext';

// ---- Annotated source ----

// The sections of a source file: its header comment (the introduction),
// then runs of full-line comments (prose) each with the code it introduces.
// A function or struct definition not introduced by a comment starts a
// section of its own, so that its anchor lands on it.
function sectionsOf(text, lang) {
    const lines = text.replace(/\n$/, '').split('\n');
    let i = 0;
    let intro = [];
    const comment = lang === 'c' ? /^\s*\/\/ ?/ : /^\s*#(?!!) ?/;
    while (i < lines.length && /^\s*$/.test(lines[i])) i++;
    if (lang === 'c' && /^\s*\/\*/.test(lines[i] || '')) {
        for (; i < lines.length; i++) {
            const end = lines[i].includes('*/');
            const l = lines[i].replace(/^\s*\/\*+ ?/, '').replace(/\s*\*+\/.*$/, '').replace(/^\s*\* ?/, '');
            intro.push(l);
            if (end) { i++; break; }
        }
    } else if (lang === 'makefile') {
        for (; i < lines.length && comment.test(lines[i]); i++) intro.push(lines[i].replace(comment, ''));
    }
    while (intro.length && !intro[0].trim()) intro.shift();
    // A header's "   usage: ./prog [ARGS]" (set off by spaces) on a line of its own.
    intro = intro.map((l) => l.replace(/^(.*?\S)?\s*\busage: (.+)$/, (all, before, u) =>
        `${before ? `${before}\n\n` : ''}Usage: \`${u.trim().replace(/`/g, '')}\``));
    const firstLine = i + 1;
    const sections = [];
    let sec = null;
    const start = (n) => { sec = { docs: [], code: [], first: n, anchors: [] }; sections.push(sec); };
    for (; i < lines.length; i++) {
        const line = lines[i];
        if (comment.test(line)) {
            if (!sec || sec.code.some((l) => l.trim())) start(i + 1);
            sec.docs.push(line.replace(comment, ''));
            continue;
        }
        const def = lang === 'c' ? definitionOf(line) : null;
        if (!sec || (def && sec.code.some((l) => l.trim()))) start(i + 1);
        if (def) sec.anchors.push(def);
        sec.code.push(line);
    }
    return { intro: intro.join('\n'), sections, firstLine };
}

// The name a line at the start of a definition defines: "ring_map" for
// `static inline void ring_map(struct ring *r, ...)`, "struct-ring" for
// `struct ring {`.  Only at column 0, as tools/doccode.py finds them.
function definitionOf(line) {
    let m = /^struct\s+(\w+)\s*\{/.exec(line);
    if (m) return `struct-${m[1]}`;
    if (/^[\s#{}]|;\s*$|^(return|if|else|while|for|do|switch|case|typedef)\b/.test(line)) return null;
    m = /^(?:[A-Za-z_][\w\s*]*?[\s*])?([A-Za-z_]\w*)\s*\(/.exec(line);
    return m ? m[1] : null;
}

// Prose from comments: Markdown, with mentions of docs/*.md made links.
function proseHtml(text, env) {
    const linked = text.replace(/(^|[\s(])((?:\.\.\/)?docs\/[\w.-]+\.md)\b/g, (all, pre, p) => {
        const rp = path.posix.normalize(p.replace(/^\.\.\//, ''));
        return site.byRepo.has(rp) ? `${pre}[${p}](${path.posix.relative(env.srcDir, rp)})` : all;
    });
    return mdProse.render(linked, env);
}

function annotatedPage(stage, file) {
    const rp = `${stage.name}/${file}`;
    const out = site.byRepo.get(rp);
    const lang = languageOf(file);
    const { intro, sections, firstLine } = sectionsOf(read(rp), lang);
    const env = { src: rp, srcDir: stage.name, out };
    const introLines = intro.split('\n');
    const headline = lang === 'c' && /^\S+ - /.test(introLines[0]) ? introLines.shift().replace(/^\S+ - /, '') : '';
    let body = `<header class="srchead"><h1><span class="stage">${escapeHtml(stage.name)}/</span>${escapeHtml(file)}</h1>`;
    if (headline) body += `<p class="subtitle">${escapeHtml(headline)}</p>`;
    body += `</header>\n`;
    if (introLines.join('').trim()) body += `<div class="intro prose">${proseHtml(introLines.join('\n'), env)}</div>\n`;
    body += `<div class="annotated">\n`;
    let n = firstLine;
    const seen = new Set();   // an id once, at the first definition
    for (const sec of sections) sec.anchors = sec.anchors.filter((a) => !seen.has(a) && seen.add(a));
    for (const sec of sections) {
        while (sec.code.length && !sec.code[sec.code.length - 1].trim()) sec.code.pop();
        const docs = sec.docs.join('\n').trim();
        const id = sec.anchors[0];
        const codeLines = sec.code.length ? highlightLines(sec.code.join('\n'), lang) : [];
        let code = '';
        let ln = sec.first + sec.docs.length;
        for (const l of codeLines) {
            const def = lang === 'c' ? definitionOf(sec.code[ln - sec.first - sec.docs.length]) : null;
            const lid = def && def !== id && sec.anchors.includes(def) ? ` id="${def}"` : '';
            code += `<span class="line"${lid}><a class="ln" href="#L${ln}" id="L${ln}">${ln}</a>${l}\n</span>`;
            ln++;
        }
        n = ln;
        if (!docs && !codeLines.some((l) => l.trim())) continue;
        body += `<section class="sec${docs ? '' : ' nodocs'}"${id ? ` id="${id}"` : ''}>`
            + `<div class="docs prose">${docs ? proseHtml(docs, env) : ''}</div>`
            + `<div class="src">${code ? `<pre class="code"><code class="hljs language-${lang}">${code}</code></pre>` : ''}</div>`
            + `</section>\n`;
    }
    body += `</div>\n`;
    site.anchors.set(rp, new Set(sections.flatMap((s) => s.anchors)));
    return { body, lines: n };
}

// ---- Diffs between stages ----

function diffFiles(stage) {
    const pairs = [];
    if (!stage.prev || !exists(stage.prev)) return pairs;
    const src = stage.prevSrc || `${stage.prev.replace(/^\d\d-/, '')}.c`;
    if (exists(`${stage.prev}/${src}`) && exists(`${stage.name}/${stage.prog}.c`))
        pairs.push([`${stage.prev}/${src}`, `${stage.name}/${stage.prog}.c`]);
    const headers = new Set([...stage.carried, ...stage.files.filter((f) => f.endsWith('.h'))]);
    for (const h of [...headers].sort()) {
        if (!exists(`${stage.name}/${h}`)) continue;
        const old = `${stage.prev}/${h}`;
        if (!exists(old)) pairs.push([null, `${stage.name}/${h}`]);
        else if (read(old) !== read(`${stage.name}/${h}`)) pairs.push([old, `${stage.name}/${h}`]);
    }
    return pairs;
}

function diffPage(stage, pairs, out) {
    let patch = '';
    const texts = new Map();
    for (const [a, b] of pairs) {
        const oldText = a ? read(a) : '';
        const newText = read(b);
        patch += Diff.createTwoFilesPatch(a ? `a/${a}` : '/dev/null', `b/${b}`, oldText, newText, undefined, undefined, { context: 4 });
        texts.set(b, { old: highlightLines(oldText, languageOf(a || b)), new: highlightLines(newText, languageOf(b)) });
    }
    let html = Diff2Html.html(patch, {
        outputFormat: 'line-by-line', drawFileList: true, matching: 'none',
        maxLineLengthHighlight: 0, colorScheme: 'light', renderNothingWhenEmpty: false,
    });
    // diff2html lays the diff out; the syntax colours come from highlighting
    // each whole file once and putting its lines back by line number (so a
    // line inside a /* comment */ is coloured as one).
    const files = [...texts.keys()];
    let fileIdx = -1;
    html = html.replace(/<div id="d2h-\d+" class="d2h-file-wrapper"|<tr>[\s\S]*?<\/tr>/g, (chunk) => {
        if (chunk.startsWith('<div')) {
            fileIdx++;
            return chunk.replace(/id="d2h-\d+"/, `id="file-${fileIdx + 1}"`);
        }
        const t = texts.get(files[fileIdx]);
        if (!t) return chunk;
        const n1 = /<div class="line-num1">(\d+)<\/div>/.exec(chunk);
        const n2 = /<div class="line-num2">(\d+)<\/div>/.exec(chunk);
        const isDel = /class="d2h-del/.test(chunk);
        const line = isDel ? n1 && t.old[+n1[1] - 1] : n2 && t.new[+n2[1] - 1];
        if (line === undefined || line === null) return chunk;
        return chunk.replace(/(<span class="d2h-code-line-ctn">)[\s\S]*?(<\/span>\s*<\/div>)/,
            (all, open, close) => `${open}${line}${close}`);
    });
    html = html.replace(/href="#d2h-\d+"/g, (() => { let k = 0; return () => `href="#file-${++k}"`; })());
    html = html.replace(/<label class="d2h-file-collapse">[\s\S]*?<\/label>/g, '');
    const cmd = `make whatsnew STAGE=${stage.name}`;
    let body = `<header class="srchead"><h1><span class="stage">${escapeHtml(stage.name)}</span>: what is new since ${escapeHtml(stage.prev)}</h1>`
        + `<p class="subtitle">Each stage begins as a copy of the one before; this is the diff that teaches it.</p></header>\n`
        + `<div class="prose intro"><p>Red lines left ${escapeHtml(stage.prev)}, green lines arrived in ${escapeHtml(stage.name)}. `
        + `The same diff in a terminal: <code>${escapeHtml(cmd)}</code>. Files carried over unchanged are not shown.</p></div>\n`;
    body += pairs.length ? `<div class="diff">${html}</div>\n` : `<p>No differences.</p>\n`;
    return body;
}

// ---- Pages ----

function layout(page, body, { wide = false } = {}) {
    const idx = site.pages.indexOf(page);   // -1: a page outside the reading order
    const prev = idx > 0 ? site.pages[idx - 1] : null;
    const next = idx >= 0 ? site.pages[idx + 1] : null;
    const a = (to, cls, label, text) => to
        ? `<a class="${cls}" href="${escapeHtml(rel(page.out, to.out))}" rel="${cls}" title="${escapeHtml(to.title)}"><span class="dir">${label}</span> <span class="what">${escapeHtml(to.short)}</span></a>`
        : `<span class="${cls} none"></span>`;
    const nav = (where) => `<nav class="pager ${where}" aria-label="previous and next">`
        + a(prev, 'prev', '&larr; previous', '')
        + `<a class="contents" href="${escapeHtml(rel(page.out, 'index.html'))}#contents">contents</a>`
        + a(next, 'next', 'next &rarr;', '') + `</nav>\n`;
    const asset = (f) => escapeHtml(rel(page.out, `assets/${f}`));
    let tabs = '';
    if (page.stage) {
        tabs = `<nav class="tabs" aria-label="${escapeHtml(page.stage.name)}">`
            + stagePages(page.stage).map((p) => p === page
                ? `<span class="tab here" aria-current="page">${escapeHtml(p.tab)}</span>`
                : `<a class="tab" href="${escapeHtml(rel(page.out, p.out))}">${escapeHtml(p.tab)}</a>`).join('')
            + `</nav>\n`;
    }
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}${page.out === 'index.html' ? '' : ` · ${TITLE}`}</title>
<link rel="stylesheet" href="${asset('hljs.css')}">
${page.kind === 'diff' ? `<link rel="stylesheet" href="${asset('diff2html.min.css')}">\n` : ''}<link rel="stylesheet" href="${asset('book.css')}">
${prev ? `<link rel="prev" href="${escapeHtml(rel(page.out, prev.out))}">\n` : ''}${next ? `<link rel="next" href="${escapeHtml(rel(page.out, next.out))}">\n` : ''}</head>
<body class="${page.kind}">
<header class="top"><a class="book" href="${escapeHtml(rel(page.out, 'index.html'))}">${TITLE}</a>${page.stage ? ` <span class="crumb">/ ${escapeHtml(page.stage.name)}</span>` : ''}</header>
${nav('above')}${tabs}<main class="${wide ? 'wide' : 'narrow'}">
${body}</main>
${nav('below')}</body>
</html>
`;
}

function stagePages(stage) {
    return site.pages.filter((p) => p.stage === stage);
}

function contentsHtml(stages, chapters, out) {
    const link = (p) => `<a href="${escapeHtml(rel(out, p.out))}">${escapeHtml(p.short)}</a>`;
    let h = `<nav class="toc" id="contents" aria-label="contents"><h2>Contents</h2>\n<ol class="toc-list">\n`;
    const listed = new Set();
    for (const p of site.pages) {
        if (p.kind === 'index' || listed.has(p)) continue;
        if (p.stage) {
            const ps = stagePages(p.stage);
            ps.forEach((q) => listed.add(q));
            const chapter = ps.find((q) => q.kind === 'chapter');
            h += `<li class="stage"><span class="stagename">${escapeHtml(p.stage.name)}</span>`
                + (chapter ? ` ${link(chapter)}` : '') + `<ul>`
                + ps.filter((q) => q !== chapter).map((q) => `<li class="${q.kind}">${link(q)}</li>`).join('')
                + `</ul></li>\n`;
        } else {
            listed.add(p);
            h += `<li>${link(p)}</li>\n`;
        }
    }
    return h + `</ol></nav>\n`;
}

function plainPage(rp, out) {
    const lang = languageOf(rp);
    const code = highlightLines(read(rp).replace(/\n$/, ''), lang)
        .map((l, i) => `<span class="line"><a class="ln" href="#L${i + 1}" id="L${i + 1}">${i + 1}</a>${l}\n</span>`).join('');
    return `<header class="srchead"><h1>${escapeHtml(rp)}</h1></header>\n`
        + `<div class="src alone"><pre class="code"><code class="hljs language-${lang}">${code}</code></pre></div>\n`;
}

function firstHeading(text, fallback) {
    const m = /^#\s+(.+?)\s*#*\s*$/m.exec(text);
    return m ? m[1].replace(/`/g, '') : fallback;
}

// ---- Main ----

async function main() {
    const args = process.argv.slice(2);
    if (args[0] === '--root' && args.length > 1) { ROOT = path.resolve(args[1]); args.splice(0, 2); }
    const outArg = args[0];
    if (!outArg || args.length > 1) {
        console.error('usage: node tools/web/build.js [--root REPO] OUT_DIR');
        process.exit(2);
    }
    const OUT = path.resolve(outArg);
    const { default: GithubSlugger } = await import('github-slugger');
    const slugger = new GithubSlugger();
    const mdDoc = makeMarkdown({ html: true, slugger });
    codeLinks(mdDoc);
    mdProse = makeMarkdown({ html: false });
    site.anchors = new Map();

    const stages = discoverStages();
    const chapters = discoverChapters();

    // The reading order: the front page, chapters without a stage of their
    // own that come first (00-introduction), then stage by stage its chapter,
    // its diff and its files; then the other chapters.
    const add = (p) => { site.pages.push(p); if (p.repo) site.byRepo.set(p.repo, p.out); return p; };
    const readme = exists('README.md') ? read('README.md') : `# ${TITLE}\n`;
    add({ out: 'index.html', repo: 'README.md', kind: 'index', title: firstHeading(readme, TITLE), short: 'Contents' });
    const chapterPage = (c, stage) => {
        const text = read(c.src);
        const title = firstHeading(text, path.basename(c.src, '.md'));
        return add({ out: c.src.replace(/\.md$/, '.html'), repo: c.src, kind: 'chapter', title,
                     short: title, stage, tab: 'chapter', chapter: c });
    };
    const stageNums = new Set(stages.map((s) => s.num));
    const firstNum = stages.length ? stages[0].num : '99';
    for (const c of chapters.filter((c) => c.num && !stageNums.has(c.num) && c.num < firstNum)) chapterPage(c, null);
    for (const stage of stages) {
        for (const c of chapters.filter((c) => c.num === stage.num)) chapterPage(c, stage);
        const pairs = diffFiles(stage);
        if (pairs.length) add({ out: `${stage.name}/diff.html`, repo: `${stage.name}/diff`, kind: 'diff',
                                title: `${stage.name}: the diff from ${stage.prev}`, short: `diff from ${stage.prev}`,
                                stage, tab: 'diff', pairs });
        for (const f of stage.files) {
            const p = add({ out: `${stage.name}/${f}.html`, repo: `${stage.name}/${f}`, kind: 'source',
                            title: `${stage.name}/${f}`, short: f, stage, tab: f, file: f });
            if (!site.byRepo.has(`${stage.name}/`)) site.byRepo.set(`${stage.name}/`, p.out);
        }
    }
    for (const c of chapters.filter((c) => !site.byRepo.has(c.src))) chapterPage(c, null);

    // The output folder: made anew, but only if it is ours (or empty).
    // screenshots/ is tests/html.bats's, and is kept.
    const KEEP = 'screenshots';
    if (fs.existsSync(OUT)) {
        const entries = fs.readdirSync(OUT).filter((e) => e !== KEEP);
        if (entries.length && !entries.includes(MARKER)) {
            console.error(`build.js: ${outArg} exists and was not made by build.js; not touching it`);
            process.exit(1);
        }
        for (const e of entries) fs.rmSync(path.join(OUT, e), { recursive: true, force: true });
    }
    const write = (out, text) => {
        fs.mkdirSync(path.dirname(path.join(OUT, out)), { recursive: true });
        fs.writeFileSync(path.join(OUT, out), text);
    };
    write(MARKER, 'made by tools/web/build.js (make html); removed and rebuilt by it\n');

    // Source pages first: chapters link to their anchors.
    const rendered = new Map();
    for (const p of site.pages.filter((p) => p.kind === 'source')) {
        rendered.set(p, layout(p, annotatedPage(p.stage, p.file).body, { wide: true }));
    }
    for (const p of site.pages.filter((p) => p.kind === 'diff')) {
        rendered.set(p, layout(p, diffPage(p.stage, p.pairs, p.out), { wide: true }));
    }
    for (const p of site.pages.filter((p) => p.kind === 'chapter')) {
        slugger.reset();
        const env = { src: p.repo, srcDir: path.posix.dirname(p.repo), out: p.out };
        rendered.set(p, layout(p, `<article class="prose chapter">${mdDoc.render(read(p.repo), env)}</article>\n`));
    }
    {
        const p = site.pages[0];
        slugger.reset();
        const env = { src: 'README.md', srcDir: '', out: p.out };
        const body = `<div class="front">${contentsHtml(stages, chapters, p.out)}`
            + `<article class="prose readme">${mdDoc.render(readme, env)}</article></div>\n`;
        rendered.set(p, layout(p, body));
    }
    for (const [p, html] of rendered) write(p.out, html);

    // Files a chapter linked to that are not pages of their own.
    for (const [rp, out] of site.extra) {
        const p = { out, kind: 'plain', title: rp, short: rp };
        write(out, layout(p, plainPage(rp, out), { wide: true }));
    }
    // Images and other assets.
    const copyTree = (from, to) => {
        if (!fs.existsSync(from)) return;
        fs.cpSync(from, to, { recursive: true, filter: (f) => !path.basename(f).startsWith('.') });
    };
    copyTree(path.join(ROOT, 'docs', 'img'), path.join(OUT, 'docs', 'img'));
    for (const [rp, out] of site.assets) {
        fs.mkdirSync(path.dirname(path.join(OUT, out)), { recursive: true });
        fs.copyFileSync(path.join(ROOT, rp), path.join(OUT, out));
    }
    const nm = path.join(__dirname, 'node_modules');
    write('assets/hljs.css', fs.readFileSync(path.join(nm, 'highlight.js/styles/github.css'), 'utf8'));
    write('assets/diff2html.min.css', fs.readFileSync(path.join(nm, 'diff2html/bundles/css/diff2html.min.css'), 'utf8'));
    write('assets/book.css', fs.readFileSync(path.join(__dirname, 'book.css'), 'utf8'));

    const count = (k) => site.pages.filter((p) => p.kind === k).length;
    console.log(`build.js: ${site.pages.length + site.extra.size} pages in ${outArg}/ `
        + `(${count('chapter')} chapters, ${count('source')} annotated sources in ${stages.length} stages, `
        + `${count('diff')} diffs)${warnings.length ? `, ${warnings.length} warnings` : ''}; `
        + `open ${path.join(outArg, 'index.html')}`);
}

main().catch((e) => { console.error(e.stack || e); process.exit(1); });
