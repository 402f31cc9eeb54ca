# ---- Evaluation: does placing by physical parallelism pay? (eval/) -----------
#
#   make eval         knees on real work (Monte-Carlo pi, nginx under httperf,
#                     measured by libplacement-agent), placement quality at
#                     100..10,000 hosts (stock Nova, libplacement, best), a
#                     closed loop through an in-process Nova on real processes:
#                     build/eval/report.md, figures, CSV (about 15 min, 2 cores;
#                     wants a quiet machine: waits up to EVAL_WAIT s for one)
#   make eval-quick   the same, smaller (about 2 min), no quiet-machine check
#   make check-eval   model tests and a smoke run (no speed assertions)
#
# Needs root (cgroups). Not part of `make bench`: it takes the whole machine.

EVAL_PI    := $(B)/eval/pi
EVAL_WAIT  ?= 900
EVAL_ARGS  ?=
EVAL_ENV    = EVENTLET_NO_GREENDNS=yes PYTHONDONTWRITEBYTECODE=1 \
              PYTHONPATH=$(abspath $(PY_BUILD)):$(CURDIR)
EVAL_RUN    = $(EVAL_ENV) $(PYTHON) eval/run.py --agent $(AGENT_BIN) --pi $(EVAL_PI)

.PHONY: eval eval-quick check-eval deps-eval

$(EVAL_PI): eval/pi.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< -lpthread

deps-eval:
	@scripts/install-deps core python nova agent eval

eval: deps-eval
	@$(MAKE) --no-print-directory python agent $(EVAL_PI)
	$(EVAL_RUN) --mode full --out $(B)/eval --wait $(EVAL_WAIT) $(EVAL_ARGS)

eval-quick: deps-eval
	@$(MAKE) --no-print-directory python agent $(EVAL_PI)
	$(EVAL_RUN) --mode quick --out $(B)/eval $(EVAL_ARGS)

check-eval: python agent $(EVAL_PI)
	$(EVAL_ENV) $(PYTEST) -p no:warnings eval/tests

CHECK_TARGETS += check-eval
