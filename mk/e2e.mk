# ---- End to end: a real OpenStack on this machine (e2e/, docs/e2e.md) --------
#
#   make e2e      MariaDB, RabbitMQ, placement-api, nova-api, conductor,
#                 scheduler and 4 nova-compute as separate processes, one
#                 libplacement-agent per compute host, the scenarios driven
#                 through Nova's REST API; prints a short report
#
# E2E_INSTALL says how the libplacement under test is installed:
#   prefix  (default) `make install PREFIX=/usr/local` into $(E2E_ROOT), a
#           throw-away tree (rebuilt every run); the services import it from
#           there
#   system  already installed in the system (libplacement's Debian packages,
#           or `make install PREFIX=/usr`); nothing is built or installed
# E2E_ARGS passes options to the harness (python3 -m lpe2e --help), e.g.
#   make e2e E2E_ARGS='--only testbed,burst --keep'
#
# Runs as root (namespaces, cgroups, its own mariadbd and rabbitmq-server on
# loopback, ports chosen free); about 1.5 GB of memory. Not part of
# `make check` (it takes minutes more than the suites); .ci/run runs it.

E2E_INSTALL ?= prefix
E2E_ROOT    := $(B)/e2e/root
E2E_ARGS    ?=

.PHONY: e2e e2e-install-prefix e2e-install-system

e2e: e2e-install-$(E2E_INSTALL)
	@cd e2e && PYTHONPATH=$(CURDIR)/e2e PYTHONDONTWRITEBYTECODE=1 \
	  $(PYTHON) -P -m lpe2e --install $(E2E_INSTALL_SPEC) $(E2E_ARGS)

e2e-install-prefix:
	@scripts/install-deps core python agent e2e
	@mkdir -p $(B)
	rm -rf $(E2E_ROOT)
	$(MAKE) --no-print-directory install PREFIX=/usr/local DESTDIR=$(abspath $(E2E_ROOT)) \
	  > $(B)/e2e-install.log 2>&1 || { tail -n 40 $(B)/e2e-install.log; exit 1; }

e2e-install-system:
	@scripts/install-deps e2e

E2E_INSTALL_SPEC = $(if $(filter prefix,$(E2E_INSTALL)),prefix:$(abspath $(E2E_ROOT)),$(E2E_INSTALL))

CLEAN_DIRS += $(B)/e2e
