# uring-by-hand: io_uring from the raw system calls up, in six stages.
#
#   make                      build every stage in place (NN-name/prog)
#   make tour                 build, then run every stage once with commentary
#   make test [STAGE=04-cp]   the bats test suite (gets bats-core if needed,
#                             and nothing else)
#   make test-html            the web book in headless Chromium (installs
#                             Chromium and node when root and missing)
#   make check                what CI runs: warnings (gcc and clang), carried
#                             files, docs drift, the whole test suite, then
#                             the suite again against sanitizer builds
#   make sanitize [STAGE=..]  ASan + UBSan + LSan builds, tested
#   make whatsnew STAGE=..    diff -u against the stage before
#   make exercise STAGE=.. [T=..] write a starter copy into exercises/ (git-ignored);
#                             with T=3.1, a whole copy for that extend-it task
#   make grade STAGE=.. [T=..] grade it: one line per test, then Score: N/M
#   make docs | check-docs    refresh / verify the code quoted in docs/
#   make html | check-html    the course as a web book in html/ | its links
#   make bench [QUICK=1]      speed and memory against the classic calls
#   make test-kernels         the suite on older kernels, booted under QEMU
#   make clean
#
# CC, CFLAGS, CPPFLAGS and LDFLAGS given on the command line reach every
# compile and link (make passes command-line variables down to sub-makes).

# A stage is any NN-name/ folder with a Makefile: adding one needs no edit here.
STAGES := $(patsubst %/Makefile,%,$(sort $(wildcard [0-9][0-9]-*/Makefile)))
SUBMAKE = $(MAKE) --no-print-directory
PYTHON ?= python3

all: $(STAGES)

# -q first: a stage already built says nothing ("is up to date" six times
# is noise before make test's first line).
$(STAGES):
	@$(SUBMAKE) -q -C $@ 2>/dev/null || $(SUBMAKE) -C $@

tour: all
	@echo 'A tour of uring-by-hand: each stage runs once.  docs/ explains what you see.'
	@for s in $(STAGES); do $(SUBMAKE) -s -C $$s tour || exit 1; done
	@printf '\nDone.  Next: make test, then read docs/00-introduction.md.\n'

# bats-core: the one outside dependency.  tests/run asks tools/bats/find-bats
# for a bats >= 1.8 from PATH, or gets one (npm into tools/bats/node_modules,
# or as root Debian's package), or says what an administrator must install.
TEST_TOOLS = tests/tools/forbid-io-uring tests/tools/refuse-sqpoll.so \
             tests/tools/bounded tests/tools/maxrss tests/tools/faultfs \
             tests/tools/busy-backlog.so

tests/tools/%.so: tests/tools/%.c
	$(CC) -std=c11 -O2 -Wall -Wextra -shared -fPIC -o $@ $< -ldl

tests/tools/%: tests/tools/%.c
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -o $@ $<

test: all $(TEST_TOOLS)
	@tests/run $(STAGE)

# The web book in a real browser (tests/html.bats): needs node and npm (for
# the pinned web tools) and Chromium; tools/web/ensure-browser says so, and
# installs them when run as root.  Not part of make test; CI runs it.
test-html:
	@tools/web/ensure-browser
	@tests/run html

whatsnew:
	@test -n '$(STAGE)' || { echo 'usage: make whatsnew STAGE=04-cp' >&2; exit 2; }
	@$(SUBMAKE) -s -C $(STAGE) whatsnew

CHAPTERS := $(sort $(wildcard docs/*.md))

docs: all
	@$(PYTHON) tools/doccode.py --write $(CHAPTERS) README.md

check-docs:
	@$(PYTHON) tools/doccode.py --check $(CHAPTERS) README.md

# The course as a web book in html/ (git-ignored), opened from file:// with
# no network: chapters, annotated source, stage diffs.  tools/web/ensure-deps
# fetches the npm tools pinned in tools/web/ into tools/web/node_modules.
# check-html: no broken links or missing images (tests/html.bats adds Chromium).
html:
	@tools/web/ensure-deps
	@node tools/web/build.js html

check-html: html
	@node tools/web/check-links.js html

check-carried:
	@tools/check-carried $(STAGES)

# Every stage must build warning-free with both compilers.  Built into
# build/ so the binaries in place are left alone.  Outside CI a missing
# compiler is reported and skipped; CI (CI=true) needs both.
check-warnings:
	@mkdir -p build; found=0; \
	for cc in gcc clang; do \
	  if ! command -v $$cc >/dev/null; then \
	    if [ "$$CI" = true ]; then echo "check-warnings: $$cc not found (CI checks with gcc and clang)" >&2; exit 1; fi; \
	    echo "check-warnings: $$cc not found: skipped (CI checks with both; apt-get install $$cc)"; continue; \
	  fi; \
	  found=$$((found + 1)); \
	  for s in $(STAGES); do \
	    prog=$$(sed -n 's/^PROG *= *//p' $$s/Makefile); \
	    $$cc -std=c11 -Wall -Wextra -Wpedantic -Werror -D_GNU_SOURCE -O2 \
	      -o build/warn-$$cc $$s/$$prog.c || exit 1; \
	  done; \
	  echo "check-warnings: $(words $(STAGES)) stages clean with $$cc"; \
	done; rm -f build/warn-gcc build/warn-clang; \
	[ $$found -gt 0 ] || { echo "check-warnings: neither gcc nor clang found" >&2; exit 1; }

# The reliability lane: every stage built with AddressSanitizer, UBSan and
# LeakSanitizer into build/sanitize/, and the whole suite run against those
# binaries.  Any report aborts the program, so the test that ran it fails.
SAN_CC    ?= $(CC)
SAN_FLAGS  = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=all
SAN_ENV    = ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:exitcode=99 \
             UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99 \
             LSAN_OPTIONS=exitcode=99

sanitize: $(TEST_TOOLS)
	@for s in $(STAGES); do \
	  prog=$$(sed -n 's/^PROG *= *//p' $$s/Makefile); mkdir -p build/sanitize/$$s; \
	  $(SAN_CC) -std=c11 -D_GNU_SOURCE $(SAN_FLAGS) -o build/sanitize/$$s/$$prog $$s/$$prog.c || exit 1; \
	done; echo "sanitize: $(words $(STAGES)) stages built into build/sanitize/"
	@$(SAN_ENV) URING_BIN_ROOT=$(CURDIR)/build/sanitize tests/run $(STAGE)

# Speed and memory, side by side with the classic calls (bench/README.md).
# Never part of make test: machines are noisy.  QUICK=1: under a minute.
bench:
	@QUICK='$(QUICK)' bench/run

# Classroom exercises (docs/teaching.md).  The starter is cut from the stage
# by tools/exercise.py, so it never drifts from it.
exercise:
	@test -n '$(STAGE)' || { echo 'usage: make exercise STAGE=02-mmap-rings' >&2; exit 2; }
	@$(PYTHON) tools/exercise.py start $(STAGE) '' '$(T)'

grade: all $(TEST_TOOLS)
	@test -n '$(STAGE)' || { echo 'usage: make grade STAGE=02-mmap-rings [T=2.1]' >&2; exit 2; }
	@$(PYTHON) tools/exercise.py grade $(STAGE) $(T)

# CI's proof that every exercise is real: each starter builds and scores
# below full marks; each reference solution scores full marks.
check-exercises: all $(TEST_TOOLS)
	@tools/check-exercises $(STAGES)

check:
	@$(SUBMAKE) check-warnings
	@$(SUBMAKE) check-carried
	@$(SUBMAKE) check-docs
	@$(SUBMAKE) check-exercises
	@$(SUBMAKE) test
	@$(SUBMAKE) sanitize

# The suite on Debian's 5.10, 6.1 and 6.12 kernels under QEMU, and here:
# a table kernel x test file (tools/test-kernels --help).  Needs root for
# apt and the Debian mirror; ~30 min per kernel.  Not part of test or check.
test-kernels: all $(TEST_TOOLS)
	@tools/test-kernels

clean:
	@for s in $(STAGES); do $(SUBMAKE) -s -C $$s clean; done
	rm -rf $(TEST_TOOLS) build

.PHONY: all tour test test-html test-kernels bench sanitize exercise grade check-exercises whatsnew docs check-docs html check-html check-carried check-warnings check clean $(STAGES)
