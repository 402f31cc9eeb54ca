#!/bin/bash
# Stand-ins for the devstack functions plugin.sh calls (devstack 493835a6).
#
# ini functions edit real files (ini.awk, devstack's semantics); functions
# that would install packages, run services or touch the system record the
# call in $HARNESS_CALLS instead ("name arg|arg|...", one line per call).
# make is stood in too: it records its arguments and, for "install",
# writes a small tree of files under DESTDIR$PREFIX like the real one.

HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

function _record {
    local IFS='|'
    echo "$*" >> "$HARNESS_CALLS"
}

# _ini COMMAND FILE SECTION OPTION [VALUE...]: see ini.awk
function _ini {
    local cmd=$1 file=$2 section=$3 option=$4 input=$2 values tmp rc=0
    shift 4
    values=$(IFS=$'\037'; echo "$*")
    [[ -f $file ]] || input=/dev/null
    case $cmd in
        get|get-multi|has)
            awk -v cmd="$cmd" -v section="$section" -v option="$option" \
                -f "$HARNESS_DIR/ini.awk" "$input"
            ;;
        *)
            tmp=$(mktemp)
            INI_VALUES=$values awk -v cmd="$cmd" -v section="$section" -v option="$option" \
                -f "$HARNESS_DIR/ini.awk" "$input" > "$tmp" || rc=$?
            [[ $rc == 0 ]] && cat "$tmp" > "$file"
            rm -f "$tmp"
            return $rc
            ;;
    esac
}

function iniset {
    _ini set "$@"
}
function iniget {
    _ini get "$@"
}
function iniget_multiline {
    _ini get-multi "$@"
}
function iniset_multiline {
    _ini set-multi "$@"
}
function ini_has_option {
    _ini has "$@"
}
function inidelete {
    _ini delete "$@"
}
function iniadd {
    local file=$1 section=$2 option=$3
    shift 3
    # devstack's iniadd splits the values on blanks
    # shellcheck disable=SC2068
    _ini add "$file" "$section" "$option" $@
}

function is_service_enabled {
    local service
    for service in "$@"; do
        [[ ,$ENABLED_SERVICES, == *,$service,* ]] && return 0
    done
    return 1
}

function is_ubuntu {
    return 0
}
function echo_summary {
    echo "summary: $*"
}
function define_plugin {
    _record define_plugin "$@"
}
function enable_service {
    _record enable_service "$@"
    # as devstack: "disable_service" in local.conf wins
    [[ ,${DISABLED_SERVICES:-}, == *,$1,* ]] ||
        ENABLED_SERVICES="$ENABLED_SERVICES,$1"
}
function install_package {
    _record install_package "$@"
}
function setup_install {
    _record setup_install "$@" "LP_LIB_A=${LP_LIB_A:-}"
}
function pip_uninstall {
    _record pip_uninstall "$@"
}
function run_process {
    is_service_enabled "$1" && _record run_process "$@"
    return 0
}
function stop_process {
    _record stop_process "$@"
}
function sudo {
    _record sudo "$@"
    "$@"
}
function ldconfig {
    _record ldconfig "$@"
}

function make {
    local arg destdir="" prefix="" install=0
    _record make "$@"
    for arg in "$@"; do
        case $arg in
            DESTDIR=*) destdir=${arg#DESTDIR=} ;;
            PREFIX=*) prefix=${arg#PREFIX=} ;;
            install) install=1 ;;
        esac
    done
    if [[ $install == 1 ]]; then
        local root=$destdir$prefix
        mkdir -p "$root/lib/pkgconfig" "$root/include/libplacement" "$root/bin"
        echo so > "$root/lib/libplacement.so.1.0.0"
        ln -sf libplacement.so.1.0.0 "$root/lib/libplacement.so.1"
        ln -sf libplacement.so.1 "$root/lib/libplacement.so"
        echo pc > "$root/lib/pkgconfig/libplacement.pc"
        echo h > "$root/include/libplacement.h"
        echo h > "$root/include/libplacement/model.h"
        printf '#!/bin/sh\n' > "$root/bin/lpctl"
        printf '#!/bin/sh\n' > "$root/bin/libplacement-agent"
        chmod 0755 "$root/bin/lpctl" "$root/bin/libplacement-agent"
    fi
}
