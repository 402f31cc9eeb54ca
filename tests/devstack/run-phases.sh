#!/bin/bash
# Run phases of devstack/plugin.sh as stack.sh, unstack.sh and clean.sh do:
# the plugin's settings once, then "source plugin.sh MODE [PHASE]" for each
# argument ("stack install", "unstack", ...), with errexit and nounset on.
# The environment gives DEST, DATA_DIR, NOVA_CONF, ZUN_CONF,
# ENABLED_SERVICES, HARNESS_CALLS and the LIBPLACEMENT_* locations.
set -o errexit -o nounset -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=tests/devstack/standins.sh
source "$here/standins.sh"
# shellcheck source=devstack/settings
source "$top/devstack/settings"
for phase in "$@"; do
    # shellcheck disable=SC2086 # "stack install" is two arguments
    # shellcheck source=devstack/plugin.sh
    source "$top/devstack/plugin.sh" $phase
done
