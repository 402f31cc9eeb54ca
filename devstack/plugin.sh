#!/bin/bash
# plugin.sh - DevStack plugin of libplacement (docs/devstack.md)
#
# stack install      build and install the C library, lpctl and the agent,
#                    and the Python packages (extension, nova_filter,
#                    zun_driver, libplacement_oslo) into devstack's Python
# stack post-config  add the filters and the weigher to $NOVA_CONF, write
#                    [libplacement] (agent URL and token); with Zun,
#                    configure $ZUN_CONF too
# stack extra        start libplacement-agent on compute hosts (run_process)
# unstack            stop the agent
# clean              undo post-config and remove what install added
#
# Every step can run again without changing the result.

_XTRACE_LIBPLACEMENT=$(set +o | grep xtrace)
set -o xtrace

LIBPLACEMENT_NOVA_DEFAULT_FILTERS="ComputeFilter,ComputeCapabilitiesFilter,ImagePropertiesFilter,ServerGroupAntiAffinityFilter,ServerGroupAffinityFilter"
LIBPLACEMENT_ZUN_DEFAULT_FILTERS="AvailabilityZoneFilter,ComputeFilter,RuntimeFilter"
LIBPLACEMENT_MANIFEST=$LIBPLACEMENT_STATE_DIR/installed-files
LIBPLACEMENT_MANIFEST_DIRS=$LIBPLACEMENT_STATE_DIR/installed-dirs
# Files install replaced, as they were (restored by clean).
LIBPLACEMENT_REPLACED=$LIBPLACEMENT_STATE_DIR/replaced
LIBPLACEMENT_SAVED_ZUN_DRIVER=$LIBPLACEMENT_STATE_DIR/zun-container-driver

# ---- comma-separated lists (ListOpt values) --------------------------------

# _libplacement_list_add LIST ITEM: LIST with ITEM appended unless present
function _libplacement_list_add {
    if [[ ",$1," == *",$2,"* ]]; then
        echo "$1"
    else
        echo "${1:+$1,}$2"
    fi
}

# _libplacement_list_del LIST ITEM: LIST without ITEM
function _libplacement_list_del {
    local out="" item
    local -a items
    IFS=, read -r -a items <<< "$1"
    for item in "${items[@]}"; do
        [[ -n $item && $item != "$2" ]] && out="${out:+$out,}$item"
    done
    echo "$out"
}

# _libplacement_ini_list_add FILE SECTION OPTION DEFAULT ITEM...
# Append ITEMs to a list option, starting from the service's DEFAULT list
# when the option is not set, so that nothing enabled by default is lost.
function _libplacement_ini_list_add {
    local file=$1 section=$2 option=$3 default=$4 value item
    shift 4
    value=$(iniget "$file" "$section" "$option")
    value=${value// /}
    value=${value:-$default}
    for item in "$@"; do
        value=$(_libplacement_list_add "$value" "$item")
    done
    iniset "$file" "$section" "$option" "$value"
}

# _libplacement_ini_list_del FILE SECTION OPTION DEFAULT ITEM...
# Remove ITEMs; an option left at the DEFAULT list is unset again.
function _libplacement_ini_list_del {
    local file=$1 section=$2 option=$3 default=$4 value item
    shift 4
    ini_has_option "$file" "$section" "$option" || return 0
    value=$(iniget "$file" "$section" "$option")
    value=${value// /}
    for item in "$@"; do
        value=$(_libplacement_list_del "$value" "$item")
    done
    if [[ $value == "$default" ]]; then
        inidelete "$file" "$section" "$option"
    else
        iniset "$file" "$section" "$option" "$value"
    fi
}

# ---- multi-valued options (MultiStrOpt: one line per value) ---------------

# _libplacement_ini_multi_add FILE SECTION OPTION DEFAULT VALUE
# Setting a multi-valued option replaces its default: keep DEFAULT.
function _libplacement_ini_multi_add {
    local file=$1 section=$2 option=$3 default=$4 value=$5 current
    current=" $(iniget_multiline "$file" "$section" "$option") "
    if [[ $current == "  " ]]; then
        iniadd "$file" "$section" "$option" "$default"
        current=" $default "
    fi
    if [[ $current != *" $value "* ]]; then
        iniadd "$file" "$section" "$option" "$value"
    fi
}

# _libplacement_ini_multi_del FILE SECTION OPTION DEFAULT VALUE
# Remove VALUE; an option left at just its DEFAULT is unset again.
function _libplacement_ini_multi_del {
    local file=$1 section=$2 option=$3 default=$4 value=$5 v
    local -a keep=()
    ini_has_option "$file" "$section" "$option" || return 0
    for v in $(iniget_multiline "$file" "$section" "$option"); do
        [[ $v != "$value" ]] && keep+=("$v")
    done
    if [[ ${#keep[@]} -eq 0 || "${keep[*]}" == "$default" ]]; then
        inidelete "$file" "$section" "$option"
    else
        iniset_multiline "$file" "$section" "$option" "${keep[@]}"
    fi
}

# _libplacement_ini_drop_section FILE SECTION: remove a section entirely,
# and the blank lines iniset put before it at the end of the file
function _libplacement_ini_drop_section {
    local file=$1 section=$2
    [[ -f $file ]] || return 0
    sed -i -e "/^\[$section\]/,/^\[/ { /^\[$section\]/d; /^\[/!d; }" "$file"
    sed -i -e ':a' -e '/^\n*$/{$d;N;ba' -e '}' "$file"
}

# ---- install ----------------------------------------------------------------

# install_libplacement: build, then install the C parts through a staging
# directory so that clean removes exactly the files (and new directories)
# install added, and puts back a file install replaced.  The Python
# packages go into devstack's Python with setup_install; the agent's unit
# is run_process's (AGENT_SERVICE_FILES=no: no libplacement-agent.service,
# no /etc/libplacement/agent.conf).
function install_libplacement {
    local staging=$LIBPLACEMENT_BUILD_DIR/staging f dest dir
    if is_ubuntu; then
        # shellcheck disable=SC2086 # a list of package names
        install_package $LIBPLACEMENT_DEBS
    fi
    make -C "$LIBPLACEMENT_DIR" B="$LIBPLACEMENT_BUILD_DIR" \
        PREFIX="$LIBPLACEMENT_PREFIX" all
    rm -rf "$staging"
    make -C "$LIBPLACEMENT_DIR" B="$LIBPLACEMENT_BUILD_DIR" \
        PREFIX="$LIBPLACEMENT_PREFIX" DESTDIR="$staging" \
        INSTALL_TARGETS=install-agent AGENT_SERVICE_FILES=no install

    mkdir -p "$LIBPLACEMENT_STATE_DIR"
    touch "$LIBPLACEMENT_MANIFEST" "$LIBPLACEMENT_MANIFEST_DIRS"
    while IFS= read -r f; do
        dest=${f#"$staging"}
        dir=$(dirname "$dest")
        while [[ ! -d $dir ]]; do
            grep -qxF "$dir" "$LIBPLACEMENT_MANIFEST_DIRS" ||
                echo "$dir" >> "$LIBPLACEMENT_MANIFEST_DIRS"
            dir=$(dirname "$dir")
        done
        if ! grep -qxF "$dest" "$LIBPLACEMENT_MANIFEST"; then
            if [[ -e $dest || -L $dest ]]; then
                mkdir -p "$(dirname "$LIBPLACEMENT_REPLACED$dest")"
                cp -P --preserve=mode,timestamps "$dest" "$LIBPLACEMENT_REPLACED$dest"
            fi
            echo "$dest" >> "$LIBPLACEMENT_MANIFEST"
        fi
        sudo mkdir -p "$(dirname "$dest")"
        sudo cp -P --preserve=mode "$f" "$dest"
    done < <(find "$staging" ! -type d | sort)
    sudo ldconfig

    # setup.py links the extension against this static library
    LP_LIB_A=$LIBPLACEMENT_BUILD_DIR/libplacement.a setup_install "$LIBPLACEMENT_DIR"
}

# uninstall_libplacement: remove what install_libplacement added
function uninstall_libplacement {
    local f
    if [[ -f $LIBPLACEMENT_MANIFEST ]]; then
        while IFS= read -r f; do
            if [[ -e $LIBPLACEMENT_REPLACED$f || -L $LIBPLACEMENT_REPLACED$f ]]; then
                sudo cp -P --preserve=mode,timestamps "$LIBPLACEMENT_REPLACED$f" "$f"
            else
                sudo rm -f "$f"
            fi
        done < "$LIBPLACEMENT_MANIFEST"
    fi
    if [[ -f $LIBPLACEMENT_MANIFEST_DIRS ]]; then
        # Deepest first; a directory someone else filled since stays.
        while IFS= read -r f; do
            sudo rmdir "$f" 2>/dev/null || true
        done < <(sort -r "$LIBPLACEMENT_MANIFEST_DIRS")
    fi
    sudo ldconfig
    # setup_install installed into devstack's global venv (GLOBAL_VENV);
    # pip_uninstall uses the venv only when PIP_VIRTUAL_ENV names it.
    if [[ ${GLOBAL_VENV:-} == True && -d ${DEVSTACK_VENV:-} ]]; then
        PIP_VIRTUAL_ENV=$DEVSTACK_VENV pip_uninstall libplacement
    else
        pip_uninstall libplacement
    fi
    # pip built the package in the source tree (setuptools' egg-info and
    # build directories)
    rm -rf "$LIBPLACEMENT_DIR/libplacement.egg-info" \
        "$LIBPLACEMENT_DIR"/build/bdist.* "$LIBPLACEMENT_DIR"/build/lib.* \
        "$LIBPLACEMENT_DIR"/build/temp.*
    rmdir "$LIBPLACEMENT_DIR/build" 2>/dev/null || true
    rm -rf "$LIBPLACEMENT_BUILD_DIR" "$LIBPLACEMENT_STATE_DIR"
}

# ---- configuration ------------------------------------------------------------

# _libplacement_agent_token: print the agents' bearer token, writing the
# token file from LIBPLACEMENT_AGENT_TOKEN, or at random the first time
# when that is empty.  The agent runs as root and accepts only a token file
# of root's (or its own user's) that no one else can read: written through
# sudo with mode 0600, read back through sudo.
function _libplacement_agent_token {
    local file=$LIBPLACEMENT_AGENT_TOKEN_FILE token=$LIBPLACEMENT_AGENT_TOKEN
    if [[ -z $token ]] && sudo test -s "$file"; then
        token=$(sudo cat "$file")
    fi
    if [[ -z $token ]]; then
        token=$(generate_hex_string 32)
    fi
    if ! sudo test -f "$file" || [[ $(sudo cat "$file") != "$token" ]]; then
        mkdir -p "$(dirname "$file")"
        sudo rm -f "$file"
        # shellcheck disable=SC2016 # $1 is the inner shell's
        echo "$token" | sudo sh -c 'umask 077 && cat > "$1"' sh "$file"
    fi
    echo "$token"
}

# _libplacement_write_options FILE: the [libplacement] group
function _libplacement_write_options {
    local file=$1 token
    if is_service_enabled libplacement-agent; then
        token=$(_libplacement_agent_token)
        iniset "$file" libplacement agent_url "$LIBPLACEMENT_AGENT_URL"
        iniset "$file" libplacement agent_token "$token"
    fi
    iniset "$file" libplacement max_parallel_ratio "$LIBPLACEMENT_MAX_PARALLEL_RATIO"
    iniset "$file" libplacement fail_open "$LIBPLACEMENT_FAIL_OPEN"
}

# ---- undoing post-config byte for byte ---------------------------------------
#
# post-config keeps each file as it was before the plugin's first change
# (<state>/<file>.orig) and as the plugin left it (<file>.ours).  clean puts
# the original back when the file is still as the plugin left it; when
# something else changed it since, clean reverts only the plugin's change
# (diff -U0 .ours .orig, applied with patch: no context lines, so that an
# edit next to the plugin's lines does not block it, while the lines it
# takes out must still match), and when that does not apply, it removes the
# plugin's values option by option.

# _libplacement_conf_begin FILE: keep FILE as it is now, unless it holds
# the plugin's settings already (an earlier post-config on the same file)
function _libplacement_conf_begin {
    local file=$1 saved
    saved=$LIBPLACEMENT_STATE_DIR/$(basename "$file")
    [[ -f $file ]] || return 0
    mkdir -p "$LIBPLACEMENT_STATE_DIR"
    if [[ ! -f $saved.orig ]] || ! grep -q '^\[libplacement\]' "$file"; then
        cp "$file" "$saved.orig"
    fi
}

# _libplacement_conf_end FILE: FILE as the plugin left it
function _libplacement_conf_end {
    local file=$1
    cp "$file" "$LIBPLACEMENT_STATE_DIR/$(basename "$file").ours"
}

# _libplacement_conf_undo FILE UNCONFIGURE: undo post-config on FILE;
# UNCONFIGURE is the function removing the plugin's values one by one
function _libplacement_conf_undo {
    local file=$1 unconfigure=$2 saved
    saved=$LIBPLACEMENT_STATE_DIR/$(basename "$file")
    [[ -f $file ]] || return 0
    if [[ -f $saved.orig && -f $saved.ours ]]; then
        if cmp -s "$file" "$saved.ours"; then
            cat "$saved.orig" > "$file"
            return 0
        fi
        diff -U0 "$saved.ours" "$saved.orig" > "$saved.patch" || true
        if patch --dry-run -s -f -N -r - "$file" < "$saved.patch" > /dev/null; then
            patch -s -f -N -r - --no-backup-if-mismatch "$file" < "$saved.patch"
            return 0
        fi
        echo "libplacement: $file changed since post-config; removing the plugin's options one by one"
    fi
    "$unconfigure"
}

function configure_libplacement_nova {
    _libplacement_ini_multi_add "$NOVA_CONF" filter_scheduler available_filters \
        nova.scheduler.filters.all_filters nova_filter.all_filters
    _libplacement_ini_list_add "$NOVA_CONF" filter_scheduler enabled_filters \
        "$LIBPLACEMENT_NOVA_DEFAULT_FILTERS" ParallelismFilter RuntimeFilter
    _libplacement_ini_list_add "$NOVA_CONF" filter_scheduler weight_classes \
        nova.scheduler.weights.all_weighers nova_filter.weighers.ParallelismWeigher
    _libplacement_write_options "$NOVA_CONF"
}

function unconfigure_libplacement_nova {
    [[ -f $NOVA_CONF ]] || return 0
    _libplacement_ini_multi_del "$NOVA_CONF" filter_scheduler available_filters \
        nova.scheduler.filters.all_filters nova_filter.all_filters
    _libplacement_ini_list_del "$NOVA_CONF" filter_scheduler enabled_filters \
        "$LIBPLACEMENT_NOVA_DEFAULT_FILTERS" ParallelismFilter RuntimeFilter
    _libplacement_ini_list_del "$NOVA_CONF" filter_scheduler weight_classes \
        nova.scheduler.weights.all_weighers nova_filter.weighers.ParallelismWeigher
    _libplacement_ini_drop_section "$NOVA_CONF" libplacement
}

function configure_libplacement_zun {
    local driver
    if is_service_enabled zun-api; then
        _libplacement_ini_multi_add "$ZUN_CONF" scheduler available_filters \
            zun.scheduler.filters.all_filters zun_driver.filters.LibplacementFilter
        _libplacement_ini_list_add "$ZUN_CONF" scheduler enabled_filters \
            "$LIBPLACEMENT_ZUN_DEFAULT_FILTERS" LibplacementFilter
    fi
    if is_service_enabled zun-compute; then
        driver=$(iniget "$ZUN_CONF" DEFAULT container_driver)
        if [[ $driver != libplacement.docker ]]; then
            mkdir -p "$LIBPLACEMENT_STATE_DIR"
            echo "$driver" > "$LIBPLACEMENT_SAVED_ZUN_DRIVER"
            iniset "$ZUN_CONF" DEFAULT container_driver libplacement.docker
        fi
    fi
    _libplacement_write_options "$ZUN_CONF"
    iniset "$ZUN_CONF" libplacement docker_runtimes "$LIBPLACEMENT_ZUN_DOCKER_RUNTIMES"
}

function unconfigure_libplacement_zun {
    local driver=""
    [[ -f $ZUN_CONF ]] || return 0
    _libplacement_ini_multi_del "$ZUN_CONF" scheduler available_filters \
        zun.scheduler.filters.all_filters zun_driver.filters.LibplacementFilter
    _libplacement_ini_list_del "$ZUN_CONF" scheduler enabled_filters \
        "$LIBPLACEMENT_ZUN_DEFAULT_FILTERS" LibplacementFilter
    if [[ $(iniget "$ZUN_CONF" DEFAULT container_driver) == libplacement.docker ]]; then
        if [[ -f $LIBPLACEMENT_SAVED_ZUN_DRIVER ]]; then
            driver=$(cat "$LIBPLACEMENT_SAVED_ZUN_DRIVER")
        fi
        if [[ -n $driver ]]; then
            iniset "$ZUN_CONF" DEFAULT container_driver "$driver"
        else
            inidelete "$ZUN_CONF" DEFAULT container_driver
        fi
    fi
    _libplacement_ini_drop_section "$ZUN_CONF" libplacement
}

function is_libplacement_zun_enabled {
    is_service_enabled zun-api zun-compute
}

# ---- agent ----------------------------------------------------------------

function start_libplacement_agent {
    # Root: it reads every process's /proc entries, cgroups and libvirt.
    # It links libplacement.so, which the loader finds in a prefix other
    # than /usr/local only by LD_LIBRARY_PATH.
    if is_service_enabled libplacement-agent &&
        is_service_enabled n-cpu zun-compute; then
        _libplacement_agent_token > /dev/null
        run_process libplacement-agent \
            "$LIBPLACEMENT_PREFIX/bin/libplacement-agent --token-file $LIBPLACEMENT_AGENT_TOKEN_FILE $LIBPLACEMENT_AGENT_ARGS" \
            "" root "LD_LIBRARY_PATH=$LIBPLACEMENT_PREFIX/lib"
    fi
}

function stop_libplacement_agent {
    stop_process libplacement-agent
}

# ---- dispatch -------------------------------------------------------------

if [[ "$1" == "stack" && "$2" == "install" ]]; then
    echo_summary "Installing libplacement"
    install_libplacement
elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
    echo_summary "Configuring libplacement"
    if is_service_enabled n-sch; then
        _libplacement_conf_begin "$NOVA_CONF"
        configure_libplacement_nova
        _libplacement_conf_end "$NOVA_CONF"
    fi
    if is_libplacement_zun_enabled; then
        _libplacement_conf_begin "$ZUN_CONF"
        configure_libplacement_zun
        _libplacement_conf_end "$ZUN_CONF"
    fi
elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
    echo_summary "Starting libplacement-agent"
    start_libplacement_agent
fi

if [[ "$1" == "unstack" ]]; then
    stop_libplacement_agent
fi

if [[ "$1" == "clean" ]]; then
    if is_service_enabled n-sch; then
        _libplacement_conf_undo "$NOVA_CONF" unconfigure_libplacement_nova
    fi
    if is_libplacement_zun_enabled; then
        _libplacement_conf_undo "$ZUN_CONF" unconfigure_libplacement_zun
    fi
    uninstall_libplacement
fi

$_XTRACE_LIBPLACEMENT
