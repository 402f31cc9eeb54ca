# ---- devstack plugin (devstack/, docs/devstack.md) ----------------------------
#
#   make check-devstack [DEVSTACK=/path/to/devstack]
#                        shellcheck and bashate (devstack's own flags) on the
#                        plugin and the harness, then every phase of
#                        plugin.sh under a devstack tree's own functions
#                        (tests/devstack): a real checkout given as DEVSTACK,
#                        else the stand-in tree tests/devstack/standin; no
#                        network needed
#   make check-devstack-real DEVSTACK=/path/to/devstack
#                        not in `make check`: the same phases against a real
#                        devstack checkout, which is required

DEVSTACK ?=
DEVSTACK_SH := devstack/plugin.sh devstack/settings tests/devstack/run-phases.sh \
               $(addprefix tests/devstack/bin/,_record apt-get edit-constraints ldconfig sudo systemctl) \
               $(addprefix tests/devstack/standin/,functions functions-common stackrc inc/ini-config inc/python)
DEVSTACK_TEST = DEVSTACK="$(DEVSTACK)" PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$(CURDIR) \
                $(PYTEST) -p no:warnings tests/devstack

.PHONY: check-devstack check-devstack-real

check-devstack:
	shellcheck -x $(DEVSTACK_SH)
	bashate -v -iE006 -eE005,E042 $(DEVSTACK_SH)
	$(DEVSTACK_TEST)

check-devstack-real:
	@test -n "$(DEVSTACK)" || { echo "check-devstack-real: set DEVSTACK=/path/to/devstack" >&2; exit 2; }
	$(DEVSTACK_TEST)

CHECK_TARGETS += check-devstack
