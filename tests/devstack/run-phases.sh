#!/bin/bash
# Run phases of the plugins named in localrc (enable_plugin) the way
# stack.sh, unstack.sh and clean.sh do, with the devstack functions of the
# tree $DEVSTACK_TOP (a real devstack tree, or the stand-in of standin/):
# its functions and stackrc (which reads $DEVSTACK_TOP/localrc), errexit
# from there on, the global venv put on PATH (setup_devstack_virtualenv;
# the test created it), the plugins' settings (run_phase source), then
# run_phase for each argument: "stack install", "unstack", "clean", ...
#
# devstack's lib/* are not loaded: NOVA_CONF and ZUN_CONF (lib/nova and
# Zun's plugin) come from localrc.  tests/devstack/bin on PATH stands in
# for the programs that would change the machine.

TOP_DIR=$DEVSTACK_TOP
# shellcheck source=/dev/null
source "$TOP_DIR/functions"
# shellcheck source=/dev/null
source "$TOP_DIR/stackrc"

set -o errexit

if [[ $GLOBAL_VENV == True ]]; then
    setup_devstack_virtualenv
fi
run_phase source
for phase in "$@"; do
    # shellcheck disable=SC2086 # "stack install" is two arguments
    run_phase $phase
done
