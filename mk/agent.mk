# libplacement-agent: collectors (libplacement-collect.a) and the daemon.
#
# The collectors and the agent use libplacement's public API only, and the
# agent links against libplacement.so (found next to it in the build tree,
# through ld.so's cache once installed).  $(COLLECT_API_CHECK) proves the
# first: the collector objects linked with --no-undefined against the .so,
# which exports nothing but the API.
#
#   make agent          build $(B)/libplacement-agent
#   make check-agent    collector and agent tests against real processes,
#                       libvirtd + QEMU, dockerd (skipped with a reason when absent),
#                       the HTTP side's security (TLS, token, limits, SIGHUP),
#                       snapshots fed to the C core (lpctl); the quick ones again
#                       under ASan+UBSan
#   make bench-agent    sweep cost per task (against the one-pread floor, same run)
#                       and agent RSS after 1,000 samples
#   make install-agent  binary, systemd unit, default config, libplacement-collect.a

AGENT_BIN      := $(B)/libplacement-agent
COLLECT_A      := $(B)/libplacement-collect.a
AGENT_TESTBIN  := $(B)/agent-tests
COLLECT_SRCS   := libplacement/src/collect/proc.c libplacement/src/collect/cgroup.c \
                  libplacement/src/collect/cpuset.c \
                  libplacement/src/collect/host.c libplacement/src/collect/sampler.c
AGENT_SRCS     := $(sort $(wildcard libplacement/tools/agent/*.c))
AGENT_HDRS     := $(wildcard libplacement/src/collect/*.h libplacement/tools/agent/*.h) \
                  libplacement/include/libplacement/collect.h
# Without -Ilibplacement/src: the library's internal headers are out of reach.
# GnuTLS: the agent checks its TLS files and client certificates, and hashes
# tokens, with the library libmicrohttpd serves HTTPS with.
AGENT_CFLAGS    = $(filter-out -Ilibplacement/src,$(ALL_CFLAGS)) -fPIC \
                  $(shell pkg-config --cflags libmicrohttpd gnutls 2>/dev/null)
AGENT_LIBS      = $(shell pkg-config --libs libmicrohttpd gnutls 2>/dev/null)
# What the collectors link besides libplacement (docker.c parses with json-c).
COLLECT_LIBS    = $(shell pkg-config --libs json-c 2>/dev/null) -lm

# Optional sources: each is built when its development package is installed.
ifeq ($(shell pkg-config --exists libvirt && echo y)$(if $(wildcard libplacement/src/collect/libvirt.c),y),yy)
# libvirt is dlopen()ed by its collector (libvirt.c), so not linked.
COLLECT_SRCS   += libplacement/src/collect/libvirt.c
AGENT_CFLAGS   += -DLP_HAVE_LIBVIRT $(shell pkg-config --cflags libvirt)
endif
# docker.c dlopen()s libcurl when the Docker socket exists.
ifneq ($(wildcard libplacement/src/collect/docker.c),)
COLLECT_SRCS   += libplacement/src/collect/docker.c
AGENT_CFLAGS   += -DLP_HAVE_DOCKER
endif
ifeq ($(if $(wildcard /usr/include/libxl.h),y)$(if $(wildcard libplacement/src/collect/libxl.c),y),yy)
# libxl.c dlopen()s the Xen libraries by the SONAMEs of those installed.
xen_soname      = $(shell objdump -p $$($(CC) -print-file-name=lib$(1).so) 2>/dev/null | awk '/SONAME/{print $$2}')
XENLIGHT_SONAME := $(call xen_soname,xenlight)
XENSTAT_SONAME  := $(call xen_soname,xenstat)
COLLECT_SRCS   += libplacement/src/collect/libxl.c
AGENT_CFLAGS   += -DLP_HAVE_LIBXL -DLP_XENLIGHT_SONAME='"$(XENLIGHT_SONAME)"' \
                  -DLP_XENSTAT_SONAME='"$(XENSTAT_SONAME)"'
endif

COLLECT_OBJS    = $(COLLECT_SRCS:%.c=$(B)/agent/%.o)
COLLECT_API_CHECK := $(B)/agent/collect-api-check.so
AGENT_OBJS      = $(AGENT_SRCS:%.c=$(B)/agent/%.o)
# The same with ASan+UBSan, for check-agent.
COLLECT_SAN_OBJS = $(COLLECT_SRCS:%.c=$(B)/agent-san/%.o)
AGENT_SAN_OBJS   = $(AGENT_SRCS:%.c=$(B)/agent-san/%.o)

.PHONY: agent check-agent bench-agent install-agent

agent: $(AGENT_BIN)

# Rebuild when the optional collectors change (the flags say which are in).
$(B)/agent/.flags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(AGENT_CFLAGS)' | cmp -s - $@ || echo '$(AGENT_CFLAGS)' > $@

.PHONY: FORCE
FORCE:

$(B)/agent/%.o: %.c $(AGENT_HDRS) $(wildcard libplacement/include/libplacement/*.h) $(B)/agent/.flags
	@mkdir -p $(dir $@)
	$(CC) $(AGENT_CFLAGS) -Ilibplacement/src/collect -Ilibplacement/tools/agent -c $< -o $@

$(B)/agent-san/%.o: %.c $(AGENT_HDRS) $(wildcard libplacement/include/libplacement/*.h) $(B)/agent/.flags
	@mkdir -p $(dir $@)
	$(CC) $(AGENT_CFLAGS) $(SAN_FLAGS) -Ilibplacement/src/collect -Ilibplacement/tools/agent -c $< -o $@

$(COLLECT_API_CHECK): $(COLLECT_OBJS) $(LIB_SO)
	$(CC) -shared -Wl,--no-undefined -o $@ $(COLLECT_OBJS) $(LIB_SO) $(COLLECT_LIBS)

$(COLLECT_A): $(COLLECT_OBJS) $(COLLECT_API_CHECK)
	rm -f $@ && ar rcs $@ $(COLLECT_OBJS)

$(B)/libplacement-collect-san.a: $(COLLECT_SAN_OBJS)
	rm -f $@ && ar rcs $@ $^

$(B)/agent-san/libplacement-agent: $(AGENT_SAN_OBJS) $(B)/libplacement-collect-san.a $(LIB_SAN_A)
	$(CC) $(SAN_FLAGS) -o $@ $(AGENT_SAN_OBJS) $(B)/libplacement-collect-san.a $(LIB_SAN_A) $(AGENT_LIBS) $(LIB_LIBS)

$(B)/agent-san/test_sampler: tests/agent/test_sampler.c $(B)/libplacement-collect-san.a $(LIB_SAN_A)
	@mkdir -p $(dir $@)
	$(CC) $(AGENT_CFLAGS) $(SAN_FLAGS) -Ilibplacement/src/collect -o $@ $< $(B)/libplacement-collect-san.a $(LIB_SAN_A) -lcmocka \
	  $(AGENT_LIBS) $(LIB_LIBS)

$(AGENT_BIN): $(AGENT_OBJS) $(COLLECT_A) $(LIB_SO)
	$(CC) $(LDFLAGS) -o $@ $(AGENT_OBJS) $(COLLECT_A) $(LIB_SO) -Wl,-rpath,'$$ORIGIN' $(AGENT_LIBS) \
	  $(COLLECT_LIBS) -lpthread

# Test helpers: a multi-threaded spinner and a snapshot validator.
$(B)/agent-tests/spin: tests/agent/spin.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< -lpthread

$(B)/agent-tests/bench_floor: tests/agent/bench_floor.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $<

$(B)/agent-tests/validate: tests/agent/validate.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_A) $(LIB_LIBS)

$(B)/agent-tests/test_sampler: tests/agent/test_sampler.c $(COLLECT_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(AGENT_CFLAGS) -Ilibplacement/src/collect -o $@ $< $(COLLECT_A) $(LIB_A) -lcmocka $(AGENT_LIBS) $(LIB_LIBS)

AGENT_TEST_DEPS = $(AGENT_BIN) $(B)/agent-tests/spin $(B)/agent-tests/validate \
                  $(B)/agent-tests/test_sampler $(B)/agent-san/test_sampler \
                  $(B)/agent-san/libplacement-agent $(B)/lpctl

# Everything against the plain build; then the unit tests and the quick
# (no load, no hypervisor) agent tests again under ASan+UBSan, leaks included.
check-agent: $(AGENT_TEST_DEPS)
	CMOCKA_MESSAGE_OUTPUT=stdout $(B)/agent-tests/test_sampler
	AGENT=$(AGENT_BIN) SPIN=$(B)/agent-tests/spin VALIDATE=$(B)/agent-tests/validate \
	  LPCTL=$(B)/lpctl $(PYTHON) tests/agent/test_agent.py
	AGENT=$(AGENT_BIN) SPIN=$(B)/agent-tests/spin $(PYTHON) tests/agent/test_agent_identity.py
	AGENT=$(AGENT_BIN) LPCTL=$(B)/lpctl $(PYTHON) tests/agent/test_agent_security.py
	CMOCKA_MESSAGE_OUTPUT=stdout ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 $(B)/agent-san/test_sampler
	AGENT=$(B)/agent-san/libplacement-agent SPIN=$(B)/agent-tests/spin \
	  VALIDATE=$(B)/agent-tests/validate AGENT_QUICK=1 ASAN_OPTIONS=detect_leaks=1 \
	  $(PYTHON) tests/agent/test_agent.py
	AGENT=$(B)/agent-san/libplacement-agent SPIN=$(B)/agent-tests/spin ASAN_OPTIONS=detect_leaks=1 \
	  $(PYTHON) tests/agent/test_agent_identity.py
	AGENT=$(B)/agent-san/libplacement-agent LPCTL=$(B)/lpctl AGENT_QUICK=1 ASAN_OPTIONS=detect_leaks=1 \
	  $(PYTHON) tests/agent/test_agent_security.py

bench-agent: $(AGENT_BIN) $(B)/agent-tests/bench_floor
	AGENT=$(AGENT_BIN) FLOOR=$(B)/agent-tests/bench_floor $(PYTHON) tests/agent/bench_agent.py

# The unit reads /etc/libplacement/agent.conf: a commented one is installed
# unless the operator already has one.  AGENT_SERVICE_FILES=no installs
# neither (the devstack plugin: devstack's run_process writes the unit).
AGENT_SERVICE_FILES ?= yes

install-agent: $(AGENT_BIN) install-lib
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(AGENT_BIN) $(DESTDIR)$(BINDIR)/
	install -d $(DESTDIR)$(LIBDIR)
	install -m 0644 $(COLLECT_A) $(DESTDIR)$(LIBDIR)/
ifneq ($(AGENT_SERVICE_FILES),no)
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)/etc/libplacement
	sed -e 's|@BINDIR@|$(BINDIR)|' libplacement/tools/agent/libplacement-agent.service \
	  > $(DESTDIR)$(PREFIX)/lib/systemd/system/libplacement-agent.service
	[ -e $(DESTDIR)/etc/libplacement/agent.conf ] || printf '%s\n' \
	  '# libplacement-agent configuration: "key = value", keys as the long options' \
	  '# (libplacement-agent --help, docs/agent.md). Defaults shown.' \
	  '# listen = 127.0.0.1' '# port = 9180' '# interval = 10' '# token-file =' \
	  '# tls-cert =' '# tls-key =' '# per-ip-connections = 16' '# request-timeout = 10' \
	  '# collectors = proc,libvirt,docker,libxl' '# libvirt-uri = qemu:///system' \
	  '# CPUs for guests: --cpus, else Nova'"'"'s [compute] cpu_shared_set + cpu_dedicated_set' \
	  '# nova-conf = /etc/nova/nova.conf' '# cpus =' \
	  > $(DESTDIR)/etc/libplacement/agent.conf
endif

all: $(AGENT_BIN)
CHECK_TARGETS   += check-agent
BENCH_TARGETS   += bench-agent
INSTALL_TARGETS += install-agent
