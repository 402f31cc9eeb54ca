# ---- Zun plugin (zun_driver/) and the devstack plugin (devstack/) -----------
#
#   make check-zun       zun_driver against the Zun stand-in (tests/zun,
#                        docs/zun.md), with the module from `make python`
#   make check-zun-real ZUN_SRC=/path/to/zun
#                        not in `make check`: the plugin in a real Zun source
#                        tree (needs python3-pecan python3-docker
#                        python3-neutron-lib; PBR_VERSION for a tree without git)
#   make check-devstack  shellcheck and bashate (devstack's own flags) on the
#                        plugin and harness, then every phase of plugin.sh run
#                        by the harness (tests/devstack), nova.conf and
#                        zun.conf checked with oslo.config

DEVSTACK_SH := devstack/plugin.sh devstack/settings \
               tests/devstack/run-phases.sh tests/devstack/standins.sh

.PHONY: check-zun check-zun-real check-devstack

check-zun: python
	PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$(PYTHONPATH_BUILD) $(PYTEST) -p no:warnings tests/zun

check-zun-real: python
	@test -n "$(ZUN_SRC)" || { echo "check-zun-real: set ZUN_SRC=/path/to/zun" >&2; exit 2; }
	PBR_VERSION=$${PBR_VERSION:-0.0.0} PYTHONDONTWRITEBYTECODE=1 \
	PYTHONPATH=$(ZUN_SRC):$(PYTHONPATH_BUILD) $(PYTHON) tests/zun/real_zun_smoke.py

check-devstack:
	shellcheck -x $(DEVSTACK_SH)
	bashate -v -iE006 -eE005,E042 $(DEVSTACK_SH)
	PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$(CURDIR) $(PYTEST) -p no:warnings tests/devstack

CHECK_TARGETS += check-zun check-devstack
