# libplacement — top-level build.
#
#   make            build the library (.so with SONAME, .a, .pc) and the tools
#   make check      install missing Debian packages, then run every test suite
#   make demo       placements and the rebalancing loop on the research testbed
#   make bench      benchmarks
#   make install    PREFIX=/usr/local DESTDIR=
#   make deb        Debian packages into build/deb (mk/deb.mk, docs/packaging.md)
#
# Components add their own targets in mk/*.mk (one file per component), and
# register them with CHECK_TARGETS (LAST_CHECK_TARGETS for suites that must
# run after all others), BENCH_TARGETS, INSTALL_TARGETS, CLEAN_DIRS.

PREFIX      ?= /usr/local
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
BINDIR      ?= $(PREFIX)/bin
DESTDIR     ?=
PYTHON      ?= /usr/bin/python3
CC          ?= cc
CLANG       ?= clang
# Seconds each fuzzer runs in `make check` (raise it for a real campaign).
FUZZ_SECONDS ?= 20

SOVERSION   := 1
VERSION     := 1.0.0
B           ?= build

PKGS        := json-c libcurl
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN        := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
               -Wformat=2 -Wvla -Wpointer-arith
BASE_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) \
               -Ilibplacement/include -Ilibplacement/src $(PKG_CFLAGS)
CFLAGS      ?= -O2 -g
# Linker flags of the installed objects (.so, lpctl, agent): distributions' hardening.
LDFLAGS     ?=
ALL_CFLAGS   = $(BASE_CFLAGS) $(CFLAGS)
SAN_FLAGS   := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=all

LIB_SRCS    := $(sort $(wildcard libplacement/src/*.c))
LIB_LIBS     = $(PKG_LIBS) -lm -lpthread
REL_OBJS     = $(LIB_SRCS:%.c=$(B)/rel/%.o)
SAN_OBJS     = $(LIB_SRCS:%.c=$(B)/san/%.o)
FUZZ_OBJS    = $(LIB_SRCS:%.c=$(B)/fuzz/%.o)

LIB_SO      := $(B)/libplacement.so.$(VERSION)
LIB_A       := $(B)/libplacement.a
LIB_SAN_A   := $(B)/libplacement-san.a
LIB_PC      := $(B)/libplacement.pc

UNIT_SRCS   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS    = $(UNIT_SRCS:tests/unit/%.c=$(B)/rel/tests/%)
UNIT_SAN     = $(UNIT_SRCS:tests/unit/%.c=$(B)/san/tests/%)
FUZZ_SRCS   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    = $(FUZZ_SRCS:tests/fuzz/%.c=$(B)/fuzz/bin/%)

TOOLS       := $(B)/lpctl
CHECK_TARGETS   :=
LAST_CHECK_TARGETS :=
BENCH_TARGETS   :=
INSTALL_TARGETS :=
CLEAN_DIRS      :=

.PHONY: all deps check check-unit check-san check-valgrind check-fuzz check-lpctl demo bench install clean
.DEFAULT_GOAL := all
# Keep object files that pattern rules chain through (fuzz objects).
.SECONDARY:

all: $(LIB_SO) $(LIB_A) $(LIB_PC) $(TOOLS)

# Debian packages: every component's for check and bench, only what the
# demo needs for demo (scripts/deps/<component>.txt).
DEMO_DEPS ?= core python nova
deps:
	@scripts/install-deps

# ---- library -------------------------------------------------------------
$(B)/rel/%.o: %.c $(wildcard libplacement/include/*.h libplacement/include/libplacement/*.h libplacement/src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(B)/san/%.o: %.c $(wildcard libplacement/include/*.h libplacement/include/libplacement/*.h libplacement/src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(B)/fuzz/%.o: %.c $(wildcard libplacement/include/*.h libplacement/include/libplacement/*.h libplacement/src/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(BASE_CFLAGS) -g -O1 -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@

$(LIB_SO): $(REL_OBJS)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libplacement.so.$(SOVERSION) -Wl,--no-undefined -o $@ $^ \
	  $(LIB_LIBS)
	ln -sf libplacement.so.$(VERSION) $(B)/libplacement.so.$(SOVERSION)
	ln -sf libplacement.so.$(SOVERSION) $(B)/libplacement.so

$(LIB_A): $(REL_OBJS)
	rm -f $@ && ar rcs $@ $^

$(LIB_SAN_A): $(SAN_OBJS)
	rm -f $@ && ar rcs $@ $^

$(LIB_PC): libplacement/libplacement.pc.in Makefile
	@mkdir -p $(B)
	sed -e 's|@PREFIX@|$(PREFIX)|;s|@LIBDIR@|$(LIBDIR)|;s|@INCLUDEDIR@|$(INCLUDEDIR)|;s|@VERSION@|$(VERSION)|' $< > $@

# ---- tools ---------------------------------------------------------------
LPCTL_SRCS  := $(sort $(wildcard libplacement/tools/lpctl*.c))

$(B)/lpctl: $(LPCTL_SRCS:%.c=$(B)/rel/%.o) $(LIB_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS)

$(B)/san/lpctl: $(LPCTL_SRCS:%.c=$(B)/san/%.o) $(LIB_SAN_A)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIB_LIBS)

# ---- tests ---------------------------------------------------------------
$(B)/rel/tests/%: tests/unit/%.c tests/unit/testutil.h $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(LIB_A) -lcmocka $(LIB_LIBS) $(TEST_LIBS)

$(B)/san/tests/%: tests/unit/%.c tests/unit/testutil.h $(LIB_SAN_A)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) -Itests/unit -o $@ $< $(LIB_SAN_A) -lcmocka $(LIB_LIBS) \
	  $(TEST_LIBS)

$(B)/fuzz/bin/%: tests/fuzz/%.c $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	$(CLANG) $(BASE_CFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_OBJS) $(LIB_LIBS)

check-unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; CMOCKA_MESSAGE_OUTPUT=stdout $$t; done

check-san: $(UNIT_SAN) $(B)/san/lpctl
	@set -e; for t in $(UNIT_SAN); do echo "== $$t (ASan+UBSan)"; \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $$t; done
	LPCTL=$(B)/san/lpctl ASAN_OPTIONS=detect_leaks=1 tests/lpctl/run.sh

# test_fetch is left out: its agents answer within real-time timeouts that
# valgrind's 20-50x slowdown would break (it runs under ASan in check-san).
VALGRIND_TESTS = $(filter-out %/test_fetch,$(UNIT_BINS))

check-valgrind: $(VALGRIND_TESTS) $(B)/lpctl
	@set -e; for t in $(VALGRIND_TESTS); do echo "== $$t (valgrind)"; \
	  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    $$t >$(B)/valgrind-$$(basename $$t).log 2>&1 || { tail -n 40 $(B)/valgrind-$$(basename $$t).log; exit 1; }; \
	  grep -E '^\[  (PASSED|FAILED)' $(B)/valgrind-$$(basename $$t).log; done
	valgrind -q --error-exitcode=99 --leak-check=full $(B)/lpctl place --cluster examples/testbed.json \
	  --requests examples/requests-spark-17.json --json >/dev/null || [ $$? -eq 3 ]

check-fuzz: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do n=$$(basename $$f); c=tests/fuzz/corpus/$${n#fuzz_}; \
	  mkdir -p $(B)/fuzz/corpus/$$n; echo "== $$n ($(FUZZ_SECONDS) s, seeds $$c)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=5 -rss_limit_mb=2048 \
	      -print_final_stats=1 $(B)/fuzz/corpus/$$n $$c 2>$(B)/fuzz/$$n.log \
	    || { tail -n 60 $(B)/fuzz/$$n.log; exit 1; }; \
	  grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units)' $(B)/fuzz/$$n.log || true; done

check-lpctl: $(B)/lpctl
	LPCTL=$(B)/lpctl tests/lpctl/run.sh

CHECK_TARGETS += check-unit check-san check-valgrind check-fuzz check-lpctl

# ---- benchmark and demo of the core -----------------------------------------
$(B)/bench_place: bench/bench_place.c bench/bench_util.h $(LIB_A)
	$(CC) $(BASE_CFLAGS) -O2 -g -o $@ $< $(LIB_A) $(LIB_LIBS)

.PHONY: bench-core demo-lpctl
bench-core: $(B)/bench_place
	$(B)/bench_place

BENCH_TARGETS += bench-core

# The research testbed (4 hosts of 4 cores / 8 threads) and its two workloads.
demo-lpctl: $(B)/lpctl
	@echo "== 16 Spark Monte-Carlo workers (cpu, 2 vCPUs) on the empty testbed"
	@$(B)/lpctl place --cluster examples/testbed.json --requests examples/requests-spark.json
	@echo; echo "== a 17th worker: every host would exceed its 8 hardware threads"
	@$(B)/lpctl place --cluster examples/testbed.json --requests examples/requests-spark-17.json \
	  | sed -n '/UNPLACED/,$$p' 
	@echo; echo "== 6 communicating Tomcat servers (net, measured demand 0.5 each)"
	@$(B)/lpctl place --cluster examples/testbed.json --requests examples/requests-tomcat.json
	@echo; echo "== a parallel job when pc3 already runs at demand 7.5"
	@$(B)/lpctl explain --cluster examples/testbed-busy.json --requests examples/requests-parallel.json
	@echo; echo "== classes of observed workloads"
	@$(B)/lpctl classify --cluster examples/observed.json

# ---- components ----------------------------------------------------------
include $(sort $(wildcard mk/*.mk))

# Every suite runs even when an earlier one fails; a summary names each one's
# result at the end (scripts/run-suites; logs in $(B)/check).
check: deps
	@$(MAKE) --no-print-directory all
	@MAKE="$(MAKE)" SUITE_LOGS=$(B)/check scripts/run-suites $(CHECK_TARGETS) $(LAST_CHECK_TARGETS)

bench: deps
	@$(MAKE) --no-print-directory $(BENCH_TARGETS)

# The main job shown to a newcomer; a component may take it over (DEMO_TARGET := ...).
DEMO_TARGET ?= demo-lpctl
demo:
	@scripts/install-deps $(DEMO_DEPS)
	@$(MAKE) --no-print-directory $(DEMO_TARGET)

# ---- install ---------------------------------------------------------------
# The shared library alone: what programs linked against it (the agent) need.
.PHONY: install-lib
install-lib: $(LIB_SO)
	install -d $(DESTDIR)$(LIBDIR)
	install -m 0644 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libplacement.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libplacement.so.$(SOVERSION)
	ln -sf libplacement.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libplacement.so
	-[ -n "$(DESTDIR)" ] || ldconfig

# What building against the library needs: headers, static library, .pc.
.PHONY: install-dev install-tools
install-dev: $(LIB_A) $(LIB_PC) install-lib
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/libplacement
	install -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 0644 $(LIB_PC) $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 0644 libplacement/include/libplacement.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 0644 libplacement/include/libplacement/*.h $(DESTDIR)$(INCLUDEDIR)/libplacement/

install-tools: $(TOOLS)
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(TOOLS) $(DESTDIR)$(BINDIR)/

install: all install-lib install-dev install-tools $(INSTALL_TARGETS)
	-[ -n "$(DESTDIR)" ] || ldconfig

clean:
	rm -rf $(B) $(CLEAN_DIRS)
