# tests/html.bats - make html: the course as a web book, checked in a real
# browser.  Builds the site into a scratch folder, checks every internal link
# and image in node, loads every page in headless Chromium (run by make
# test-html, which installs Chromium when missing and root), and saves
# screenshots of the contents page and of an annotated source, laptop and
# phone width, into html/screenshots/ for a person to look at.
# bats file_tags=html
bats_require_minimum_version 1.8.0

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
WEB=$ROOT/tools/web

setup_file() {
    export SITE=$BATS_FILE_TMPDIR/html
    export SHOTS=$ROOT/html/screenshots
    # The pinned npm tools, then the site.  Failures are reported by the
    # first test, with the log.
    if command -v node >/dev/null; then
        { "$WEB/ensure-deps" && node "$WEB/build.js" "$SITE"; } >"$BATS_FILE_TMPDIR/build.log" 2>&1
        echo $? >"$BATS_FILE_TMPDIR/build.rc"
    fi
    find_chromium >"$BATS_FILE_TMPDIR/chromium" 2>"$BATS_FILE_TMPDIR/chromium.why" || true
}

# Print the path of a chromium, or fail with the reason on stderr.  Nothing
# is installed here: make test-html (tools/web/ensure-browser) does that.
find_chromium() {
    local c
    for c in chromium chromium-browser; do
        command -v "$c" && return 0
    done
    echo "no chromium on PATH (make test-html installs it as root; package chromium)" >&2
    return 1
}

need_site() {
    command -v node >/dev/null || skip "no node to build the site with (package nodejs)"
    [ "$(cat "$BATS_FILE_TMPDIR/build.rc")" -eq 0 ] || { cat "$BATS_FILE_TMPDIR/build.log"; false; }
}

need_chromium() {
    CHROMIUM=$(cat "$BATS_FILE_TMPDIR/chromium")
    [ -n "$CHROMIUM" ] || skip "no headless browser: $(cat "$BATS_FILE_TMPDIR/chromium.why")"
}

# shot FILE WIDTH,HEIGHT PAGE: a screenshot of PAGE (a path in the site).
shot() {
    local profile
    profile=$(mktemp -d)
    timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$profile" \
        --screenshot="$1" --window-size="$2" "file://$SITE/$3" >/dev/null 2>&1
    rm -rf "$profile"
    [ -s "$1" ] || { echo "no screenshot of $3"; return 1; }
}

@test "html: every chapter, every stage's sources and every stage's diff get a page" {
    need_site
    cat "$BATS_FILE_TMPDIR/build.log"
    [ -f "$SITE/index.html" ]
    for md in "$ROOT"/docs/*.md; do
        [ -f "$md" ] || continue
        [ -s "$SITE/docs/$(basename "$md" .md).html" ] || { echo "no page for $md"; false; }
    done
    for mk in "$ROOT"/[0-9][0-9]-*/Makefile; do
        stage=$(basename "$(dirname "$mk")")
        prog=$(sed -n 's/^PROG *= *//p' "$mk")
        prev=$(sed -n 's/^PREV *= *//p' "$mk")
        for f in "$ROOT/$stage"/*.c "$ROOT/$stage"/*.h "$mk"; do
            [ -f "$f" ] || continue
            f=${f#"$ROOT/"}
            [ -s "$SITE/$f.html" ] || { echo "no annotated page for $f"; false; }
        done
        if [ -n "$prev" ] && [ -f "$ROOT/$stage/$prog.c" ] && [ -d "$ROOT/$prev" ]; then
            [ -s "$SITE/$stage/diff.html" ] || { echo "no diff page for $stage"; false; }
        fi
    done
    # Pages come with the assets they need, and the images of docs/img/.
    for f in "$ROOT"/docs/img/*; do
        [ -f "$f" ] || continue
        cmp -s "$f" "$SITE/docs/img/$(basename "$f")" || { echo "docs/img/$(basename "$f") not copied"; false; }
    done
    [ -s "$SITE/assets/book.css" ] && [ -s "$SITE/assets/hljs.css" ]
}

@test "html: no broken internal link or missing image, nothing loaded from the network" {
    need_site
    run node "$WEB/check-links.js" "$SITE"
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "html: each function a chapter quotes links to its anchor in the annotated source" {
    need_site
    n=0
    for md in "$ROOT"/docs/*.md; do
        [ -f "$md" ] || continue
        page=$SITE/docs/$(basename "$md" .md).html
        while read -r file name; do
            case $name in "" | struct*) continue ;; esac
            grep -qF "href=\"../$file.html#$name\"" "$page" || { echo "$page: no link to $file#$name"; false; }
            grep -qF "id=\"$name\"" "$SITE/$file.html" || { echo "$file.html: no anchor $name"; false; }
            n=$((n + 1))
        done < <(sed -n 's/^<!-- code: \([^ ]*\) *\([^ ]*\) -->$/\1 \2/p' "$md")
    done
    [ "$n" -gt 0 ] || skip "no chapter quotes a function yet"
}

@test "html: the generator puts comments beside the code they introduce, anchors, links, diffs" {
    # A stand-in repository, so this holds whatever the real chapters say.
    command -v node >/dev/null || skip "no node (package nodejs)"
    need_site   # the tools are installed
    repo=$BATS_TEST_TMPDIR/repo
    mkdir -p "$repo/01-one" "$repo/02-two" "$repo/docs/img"
    printf 'PROG = one\nPREV =\n' >"$repo/01-one/Makefile"
    printf 'PROG = two\nPREV = 01-one\nPREV_SRC = one.c\nCARRIED = x.h\n' >"$repo/02-two/Makefile"
    printf '/*\n * one.c - the first\n *\n * The intro <b>text</b>.\n */\nint x;\n\n// Adds `a` and b.\nint add(int a, int b)\n{\n    // Inside: the sum.\n    return a + b;\n}\nstatic int sub(int a)\n{\n    return -a;\n}\n' >"$repo/01-one/one.c"
    sed 's/first/second/' "$repo/01-one/one.c" >"$repo/02-two/two.c"
    printf '// x.h\n' >"$repo/01-one/x.h"
    printf '// x.h, changed\n' >"$repo/02-two/x.h"
    printf '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>\n' >"$repo/docs/img/a.svg"
    printf '# Two\n\nSee [one](../01-one) and ![a](img/a.svg).\n\n<!-- code: 02-two/two.c add -->\n~~~c\nint add(int a, int b)\n~~~\n<!-- /code -->\n' >"$repo/docs/02-two.md"
    printf '# Repo\n\n[chapter](docs/02-two.md)\n' >"$repo/README.md"
    run node "$WEB/build.js" --root "$repo" "$BATS_TEST_TMPDIR/site"
    echo "$output"
    [ "$status" -eq 0 ]
    s=$BATS_TEST_TMPDIR/site
    run node "$WEB/check-links.js" "$s"
    echo "$output"
    [ "$status" -eq 0 ]
    # The header comment is the introduction, its first line the subtitle;
    # each comment block is prose in the section of the code after it.
    grep -q '<p class="subtitle">the first</p>' "$s/01-one/one.c.html"
    grep -q 'The intro &lt;b&gt;text&lt;/b&gt;' "$s/01-one/one.c.html"
    grep -q '<section class="sec" id="add"><div class="docs prose"><p>Adds <code>a</code> and b.</p>' "$s/01-one/one.c.html"
    grep -q '<p>Inside: the sum.</p>' "$s/01-one/one.c.html"
    grep -q 'id="sub"' "$s/01-one/one.c.html"
    grep -q 'class="hljs-keyword">return' "$s/01-one/one.c.html"
    # The chapter links the quoted function, the stage folder and the image.
    grep -q 'href="../02-two/two.c.html#add"' "$s/docs/02-two.html"
    grep -q 'href="../01-one/one.c.html"' "$s/docs/02-two.html"
    grep -q 'src="img/a.svg"' "$s/docs/02-two.html"
    # 02's diff: its program against PREV_SRC, and the carried header that changed.
    grep -q '01-one/one.c → 02-two/two.c' "$s/02-two/diff.html"
    grep -q 'x.h, changed' "$s/02-two/diff.html"
    [ ! -e "$s/01-one/diff.html" ]
    # Previous / next / contents on every page.
    for p in "$s"/index.html "$s"/docs/*.html "$s"/0*/*.html; do
        grep -q 'class="contents"' "$p" || { echo "$p: no contents link"; false; }
    done
    grep -q 'rel="next"' "$s/index.html"
    grep -q 'rel="prev"' "$s/02-two/Makefile.html"
}

@test "html: every page loads in Chromium with its images drawn, and fits a phone's width" {
    need_site
    need_chromium
    run node "$WEB/browser-check.js" "$SITE" "$CHROMIUM"
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "html: screenshots of the contents and of an annotated source, laptop and phone" {
    need_site
    need_chromium
    # The annotated program of the last stage that has one.
    src=
    for mk in "$ROOT"/[0-9][0-9]-*/Makefile; do
        stage=$(basename "$(dirname "$mk")")
        prog=$(sed -n 's/^PROG *= *//p' "$mk")
        [ -f "$SITE/$stage/$prog.c.html" ] && src=$stage/$prog.c.html
    done
    [ -n "$src" ]
    rm -rf "$SHOTS"
    mkdir -p "$SHOTS"
    shot "$SHOTS/contents-laptop.png" 1280,900 index.html
    shot "$SHOTS/contents-phone.png" 390,844 index.html
    shot "$SHOTS/source-laptop.png" 1280,900 "$src"
    shot "$SHOTS/source-phone.png" 390,844 "$src"
    echo "# screenshots of index.html and $src in $SHOTS" >&3
}

@test "html: every figure is a link to itself, to open at full size (a phone shrinks it to the column)" {
    need_site
    local n=0 md img page
    for md in "$ROOT"/docs/*.md; do
        page=$SITE/docs/$(basename "$md" .md).html
        for img in $(grep -o '!\[[^]]*\](img/[^)]*)' "$md" | sed 's/.*(\(.*\))/\1/'); do
            grep -q "<a class=\"figure\" href=\"$img\"[^>]*><img src=\"$img\"" "$page" || { echo "$img in $page is not a link to itself"; false; }
            n=$((n + 1))
        done
    done
    [ "$n" -gt 0 ]
}
