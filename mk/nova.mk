# ---- Nova scheduler plugin (nova_filter/) -----------------------------------
#
#   make check-nova   functional tests in a real in-process Nova (tests/nova),
#                     then check-nova-upstream
#   make check-nova-upstream
#                     Nova's own server group tests (Debian's python3-nova,
#                     unmodified) with the plugin's filters and weigher on
#   make bench-nova   filter/weigher cost per host through Nova's handlers
#   make demo-nova    `make demo` (demo/): the research testbed as an
#                     in-process Nova cloud, with the plugin and with stock
#                     Nova, and the rebalancing loop
#   make check-demo   the demo's report (fixed input) and two runs of it
#
# Everything runs with /usr/bin/python3 (Debian's python3-nova) against the
# module built by `make python` (mk/python.mk; NOVA_ENV is expanded late
# because that fragment is included after this one).

NOVA_ENV = EVENTLET_NO_GREENDNS=yes PYTHONDONTWRITEBYTECODE=1 \
            PYTHONPATH=$(abspath $(PY_BUILD)):$(CURDIR):$(CURDIR)/tests/nova

# Nova's functional tests the plugin must not break (each must pass).
NOVA_UPSTREAM_TESTS = nova.tests.functional.test_server_group

.PHONY: check-nova check-nova-upstream bench-nova demo-nova check-demo

# tests/nova/test_watcher_execution.py runs in check-watcher (mk/watcher.mk).
check-nova: python
	$(NOVA_ENV) $(PYTEST) -p no:warnings --ignore=tests/nova/test_watcher_execution.py tests/nova
	$(MAKE) --no-print-directory check-nova-upstream

check-nova-upstream: python
	$(NOVA_ENV) $(PYTEST) -p no:warnings -p nova_upstream_plugin \
		--pyargs $(NOVA_UPSTREAM_TESTS)

bench-nova: python
	$(NOVA_ENV) $(PYTHON) bench/bench_nova.py

demo-nova: python
	@$(NOVA_ENV) $(PYTHON) -m demo

check-demo: python
	$(NOVA_ENV) $(PYTEST) -p no:warnings tests/demo

CHECK_TARGETS += check-nova check-demo
BENCH_TARGETS += bench-nova
DEMO_TARGET := demo-nova
