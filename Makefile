# uring-by-hand: io_uring from the raw system calls up, in six stages.
#
#   make                      build every stage in place (NN-name/prog)
#   make tour                 build, then run every stage once with commentary
#   make test [STAGE=04-cp]   the bats test suite (fetches bats-core if needed)
#   make check                what CI runs: warnings (gcc and clang), carried
#                             files, docs drift, the whole test suite, then
#                             the suite again against sanitizer builds
#   make sanitize [STAGE=..]  ASan + UBSan + LSan builds, tested
#   make whatsnew STAGE=..    diff -u against the stage before
#   make exercise STAGE=..    write a starter copy into exercises/ (git-ignored)
#   make grade STAGE=.. [T=..] grade it: one line per test, then Score: N/M
#   make docs | check-docs    refresh / verify the code quoted in docs/
#   make html | check-html    the course as a web book in html/ | its links
#   make bench [QUICK=1]      speed and memory against the classic calls
#   make clean
#
# CC, CFLAGS, CPPFLAGS and LDFLAGS given on the command line reach every
# compile and link (make passes command-line variables down to sub-makes).

# A stage is any NN-name/ folder with a Makefile: adding one needs no edit here.
STAGES := $(patsubst %/Makefile,%,$(sort $(wildcard [0-9][0-9]-*/Makefile)))
SUBMAKE = $(MAKE) --no-print-directory
PYTHON ?= python3

all: $(STAGES)

$(STAGES):
	@$(SUBMAKE) -C $@

tour: all
	@echo 'A tour of uring-by-hand: each stage runs once.  docs/ explains what you see.'
	@for s in $(STAGES); do $(SUBMAKE) -s -C $$s tour || exit 1; done
	@printf '\nDone.  Next: make test, then read docs/00-introduction.md.\n'

# bats-core: the one outside dependency.  tools/bats/find-bats prints a bats
# >= 1.8 from PATH, or installs the version pinned in tools/bats/ from the
# npm registry into tools/bats/node_modules (git-ignored, no root needed).
BATS = $(shell tools/bats/find-bats)
TEST_TOOLS = tests/tools/forbid-io-uring tests/tools/refuse-sqpoll.so tests/tools/faultfs \
             tests/tools/busy-backlog.so

tests/tools/%.so: tests/tools/%.c
	$(CC) -std=c11 -O2 -Wall -Wextra -shared -fPIC -o $@ $< -ldl

tests/tools/%: tests/tools/%.c
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -o $@ $<

test: all $(TEST_TOOLS)
	@BATS='$(BATS)' tests/run $(STAGE)

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

# Every stage must build warning-free with both compilers.  Built into a
# scratch folder so the binaries in place are left alone.
check-warnings:
	@for cc in gcc clang; do \
	  command -v $$cc >/dev/null || { echo "check-warnings: $$cc not found" >&2; exit 1; }; \
	  for s in $(STAGES); do \
	    prog=$$(sed -n 's/^PROG *= *//p' $$s/Makefile); \
	    $$cc -std=c11 -Wall -Wextra -Wpedantic -Werror -D_GNU_SOURCE -O2 \
	      -o /tmp/uring-by-hand-warn.$$$$ $$s/$$prog.c || exit 1; \
	  done; \
	  echo "check-warnings: $(words $(STAGES)) stages clean with $$cc"; \
	done; rm -f /tmp/uring-by-hand-warn.$$$$

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
	@$(SAN_ENV) URING_BIN_ROOT=$(CURDIR)/build/sanitize BATS='$(BATS)' tests/run $(STAGE)

# Speed and memory, side by side with the classic calls (bench/README.md).
# Never part of make test: machines are noisy.  QUICK=1: under a minute.
bench:
	@QUICK='$(QUICK)' bench/run

# Classroom exercises (docs/teaching.md).  The starter is cut from the stage
# by tools/exercise.py, so it never drifts from it.
exercise:
	@test -n '$(STAGE)' || { echo 'usage: make exercise STAGE=02-mmap-rings' >&2; exit 2; }
	@$(PYTHON) tools/exercise.py start $(STAGE)

grade: $(TEST_TOOLS)
	@test -n '$(STAGE)' || { echo 'usage: make grade STAGE=02-mmap-rings [T=2.1]' >&2; exit 2; }
	@$(PYTHON) tools/exercise.py grade $(STAGE) $(T)

# CI's proof that every exercise is real: each starter builds and scores
# below full marks; each reference solution scores full marks.
check-exercises: $(TEST_TOOLS)
	@tools/check-exercises $(STAGES)

check:
	@$(SUBMAKE) check-warnings
	@$(SUBMAKE) check-carried
	@$(SUBMAKE) check-docs
	@$(SUBMAKE) check-exercises
	@$(SUBMAKE) test
	@$(SUBMAKE) sanitize

clean:
	@for s in $(STAGES); do $(SUBMAKE) -s -C $$s clean; done
	rm -rf $(TEST_TOOLS) build

.PHONY: all tour test bench sanitize exercise grade check-exercises whatsnew docs check-docs html check-html check-carried check-warnings check clean $(STAGES)
