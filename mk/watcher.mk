# ---- Watcher plugin (libplacement_watcher/) ----------------------------------
#
#   make check-watcher   the goal, strategy and action in Watcher 9 in-process
#                        (tests/watcher), then the plan executed in a real
#                        in-process Nova by Watcher's applier
#                        (tests/nova/test_watcher_execution.py)
#
# Watcher and Nova both register [DEFAULT] host on oslo.config's global
# CONF, so the two suites run in separate processes. The Watcher process of
# the Nova test inherits PYTHONPATH: absolute, so that it finds the module
# and the plugins' entry points (egg-info) wherever it runs.

WATCHER_ENV = EVENTLET_NO_GREENDNS=yes PYTHONDONTWRITEBYTECODE=1 \
              PYTHONPATH=$(abspath $(PY_BUILD)):$(CURDIR)

.PHONY: check-watcher

check-watcher: python
	$(WATCHER_ENV) $(PYTEST) -p no:warnings tests/watcher
	$(WATCHER_ENV) $(PYTEST) -p no:warnings tests/nova/test_watcher_execution.py

CHECK_TARGETS += check-watcher
