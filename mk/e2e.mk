# ---- End to end: a real OpenStack on this machine (e2e/, docs/e2e.md) --------
#
#   make e2e      MariaDB, RabbitMQ, placement-api, nova-api, conductor,
#                 scheduler and 4 nova-compute as separate processes, one
#                 libplacement-agent per compute host, the scenarios driven
#                 through Nova's REST API; prints a short report
#
# E2E_INSTALL says how the libplacement under test is installed:
#   deb     (default) `make deb`, then its packages installed with apt-get in
#           a copy-on-write overlay of this system, for the run only
#           (e2e/run-debs.sh; unpacked with dpkg-deb where no overlay can be
#           mounted)
#   prefix  `make install PREFIX=/usr/local` into $(E2E_ROOT), a throw-away
#           tree; the services import it from there
#   system  already installed in the system; nothing is built or installed
# E2E_ARGS passes options to the harness (python3 -m lpe2e --help), e.g.
#   make e2e E2E_ARGS='--only testbed,burst --keep'
#
# Runs as root (namespaces, cgroups, an overlay mount, its own mariadbd and
# rabbitmq-server on loopback, ports chosen free); about 1.5 GB of memory,
# 5 to 10 minutes. A failed run's logs stay in $(E2E_RUNS). The last suite of
# `make check` (check-e2e).

E2E_INSTALL ?= deb
E2E_ARGS    ?=
E2E_ROOT    := $(B)/e2e/root
E2E_RUNS    := $(B)/e2e/runs
E2E_HARNESS  = cd e2e && PYTHONPATH=$(CURDIR)/e2e PYTHONDONTWRITEBYTECODE=1 \
               $(PYTHON) -P -m lpe2e --workdir $(abspath $(E2E_RUNS))

.PHONY: e2e e2e-deb e2e-prefix e2e-system

e2e: e2e-$(E2E_INSTALL)

e2e-deb:
	@scripts/install-deps deb e2e
	@$(MAKE) --no-print-directory deb
	@mkdir -p $(E2E_RUNS)
	@e2e/run-debs.sh $(DEB_DIR) $(E2E_RUNS) $(E2E_ARGS)

e2e-prefix:
	@scripts/install-deps core python agent e2e
	@mkdir -p $(B) $(E2E_RUNS)
	@rm -rf $(E2E_ROOT)
	@$(MAKE) --no-print-directory install PREFIX=/usr/local \
	  DESTDIR=$(abspath $(E2E_ROOT)) > $(B)/e2e-install.log 2>&1 \
	  || { tail -n 40 $(B)/e2e-install.log; exit 1; }
	@$(E2E_HARNESS) --install prefix:$(abspath $(E2E_ROOT)) $(E2E_ARGS)

e2e-system:
	@scripts/install-deps e2e
	@mkdir -p $(E2E_RUNS)
	@$(E2E_HARNESS) --install system $(E2E_ARGS)

CLEAN_DIRS += $(B)/e2e

.PHONY: check-e2e
check-e2e: e2e

# Last (LAST_CHECK_TARGETS): it installs the packages check-deb checked, and
# it is the longest.
LAST_CHECK_TARGETS += check-e2e
