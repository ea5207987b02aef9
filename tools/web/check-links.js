#!/usr/bin/env node
// check-links.js SITE: every internal link, image and stylesheet in the
// built site resolves (the file exists; a #fragment names an id on that
// page), and nothing a page loads comes from the network.  Links out to the
// web (<a href="https://...">) are allowed: they are not needed to read.
// Prints one line per problem and exits 1, or a summary and exits 0.
'use strict';
const fs = require('fs');
const path = require('path');
const { parseDocument, DomUtils } = require('htmlparser2');

const site = process.argv[2];
if (!site || !fs.existsSync(path.join(site, 'index.html'))) {
    console.error('usage: node tools/web/check-links.js SITE_DIR (with an index.html)');
    process.exit(2);
}

function walk(dir) {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]);
}

const pages = walk(site).filter((f) => f.endsWith('.html'));
const docs = new Map();   // page -> {ids, refs}
for (const f of pages) {
    const dom = parseDocument(fs.readFileSync(f, 'utf8'));
    const ids = new Set(DomUtils.findAll((e) => e.attribs && e.attribs.id !== undefined, dom.children)
        .map((e) => e.attribs.id));
    for (const e of DomUtils.findAll((e) => e.name === 'a' && e.attribs.name !== undefined, dom.children)) ids.add(e.attribs.name);
    const refs = [];
    for (const e of DomUtils.findAll((e) => !!e.attribs, dom.children)) {
        for (const attr of ['href', 'src', 'data', 'poster', 'srcset']) {
            if (e.attribs[attr] === undefined) continue;
            const loads = !(e.name === 'a' && attr === 'href');   // fetched, not followed
            const values = attr === 'srcset' ? e.attribs[attr].split(',').map((s) => s.trim().split(/\s+/)[0]) : [e.attribs[attr]];
            for (const v of values) refs.push({ tag: e.name, attr, url: v, loads });
        }
    }
    docs.set(path.resolve(f), { ids, refs, hasTitle: !!DomUtils.findOne((e) => e.name === 'title', dom.children) });
}

const problems = [];
let links = 0, images = 0;
for (const [file, { refs, hasTitle }] of docs) {
    const page = path.relative(site, file);
    if (!hasTitle) problems.push(`${page}: no <title>`);
    for (const { tag, attr, url, loads } of refs) {
        if (tag === 'img') images++; else links++;
        if (/^(mailto|tel):/i.test(url)) continue;
        if (/^([a-z][a-z0-9+.-]*:|\/\/)/i.test(url)) {
            if (loads) problems.push(`${page}: <${tag} ${attr}="${url}"> would load from the network`);
            else if (!/^https?:/i.test(url)) problems.push(`${page}: <${tag} ${attr}="${url}">: not a web or relative link`);
            continue;
        }
        if (url.startsWith('/')) { problems.push(`${page}: <${tag} ${attr}="${url}"> is absolute: breaks from file://`); continue; }
        const [p, frag] = url.split(/#(.*)/s);
        let target = file;
        if (p !== '') {
            target = path.resolve(path.dirname(file), decodeURIComponent(p.split('?')[0]));
            if (!fs.existsSync(target)) { problems.push(`${page}: <${tag} ${attr}="${url}">: no such file`); continue; }
            if (fs.statSync(target).isDirectory()) { problems.push(`${page}: <${tag} ${attr}="${url}"> is a folder: file:// shows a listing`); continue; }
            if (tag === 'img' && fs.statSync(target).size === 0) problems.push(`${page}: <img src="${url}">: empty file`);
        }
        if (frag) {
            const d = docs.get(target);
            if (!d) continue;   // a fragment into something that is not a page
            if (!d.ids.has(decodeURIComponent(frag))) problems.push(`${page}: <${tag} ${attr}="${url}">: no id "${frag}" there`);
        }
    }
}

if (problems.length) {
    for (const p of problems) console.log(p);
    console.log(`check-links: ${problems.length} problems in ${docs.size} pages`);
    process.exit(1);
}
console.log(`check-links: ${docs.size} pages, ${links} links and ${images} images, all resolve, none from the network`);
