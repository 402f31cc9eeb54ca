# ---- Zun plugin (zun_driver/) -------------------------------------------------
#
#   make check-zun       zun_driver against the Zun stand-in (tests/zun,
#                        docs/zun.md), with the module from `make python`
#   make check-zun-real ZUN_SRC=/path/to/zun
#                        not in `make check`: the plugin in a real Zun source
#                        tree (needs python3-pecan python3-docker
#                        python3-neutron-lib; PBR_VERSION for a tree without git)
#   make check-learn-docker
#                        classes learned from real containers: a private dockerd,
#                        busy and nginx containers under httperf, the real agent,
#                        lp.Learner and zun_driver (tests/agent/test_learn_docker.py;
#                        skipped, saying why, when dockerd cannot run)

.PHONY: check-zun check-zun-real check-learn-docker

check-zun: python
	PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$(PYTHONPATH_BUILD) $(PYTEST) -p no:warnings tests/zun

check-zun-real: python
	@test -n "$(ZUN_SRC)" || { echo "check-zun-real: set ZUN_SRC=/path/to/zun" >&2; exit 2; }
	PBR_VERSION=$${PBR_VERSION:-0.0.0} PYTHONDONTWRITEBYTECODE=1 \
	PYTHONPATH=$(ZUN_SRC):$(PYTHONPATH_BUILD) $(PYTHON) tests/zun/real_zun_smoke.py

check-learn-docker: python $(AGENT_BIN)
	AGENT=$(AGENT_BIN) PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$(PYTHONPATH_BUILD) \
	  $(PYTHON) -W ignore::DeprecationWarning tests/agent/test_learn_docker.py

CHECK_TARGETS += check-zun check-learn-docker
