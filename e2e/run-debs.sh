#!/bin/sh
# make e2e against libplacement's Debian packages, installed with apt-get in
# a copy-on-write overlay of this system (docs/e2e.md).
#
#   e2e/run-debs.sh DEB_DIR WORK_BASE [harness options]
#
# In a private mount namespace, /usr, /etc and /var become copy-on-write
# overlays of themselves and /run a fresh tmpfs (no way to the machine's
# systemd); there apt-get installs libplacement1, python3-libplacement and
# libplacement-agent from DEB_DIR (maintainer scripts run; policy-rc.d keeps
# the agent's unit from starting) and the harness runs with --install
# system, its work directory under WORK_BASE (logs of a failed run stay
# there). No chroot: paths stay the machine's, and lxcfs, which re-enters
# mount namespaces, finds its mount point. When the namespace ends, the
# installation is gone: the machine, and other engineers' runs against
# their build trees, never see it.
#
# Where no overlay can be mounted (not root, no overlayfs), the packages are
# unpacked with dpkg-deb -x instead and the harness runs with
# --install unpacked:DIR, saying why.
#
# The script runs itself again for the inner stage:
#   run-debs.sh --namespace TMP DEB_DIR WORK_BASE [options]
set -eu

E2E=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$E2E")
PACKAGES="libplacement1 python3-libplacement libplacement-agent"
HARNESS="/usr/bin/python3 -P -m lpe2e"

debs_of() {   # DEB_DIR: the packages of this source's changelog version
    version=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -SVersion)
    for p in $PACKAGES; do
        f=$(ls "$1/${p}_${version}_"*.deb 2>/dev/null) || {
            echo "run-debs.sh: no ${p}_${version}_*.deb in $1 (make deb)" >&2
            exit 2
        }
        echo "$f"
    done
}

OVERLAID="usr etc var"

namespace_stage() {
    tmp=$1
    deb_dir=$2
    work=$3
    shift 3
    for d in $OVERLAID; do
        mkdir -p "$tmp/upper/$d" "$tmp/work/$d"
        mount -t overlay overlay \
            -o "lowerdir=/$d,upperdir=$tmp/upper/$d,workdir=$tmp/work/$d" "/$d"
    done
    mount -t tmpfs tmpfs /run
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    rm -f /var/lib/man-db/auto-update
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2046 # one word per package file
    apt-get install -y -q --no-install-recommends $(debs_of "$deb_dir") \
        > "$tmp/apt-install.log" 2>&1 || { cat "$tmp/apt-install.log"; exit 1; }
    echo "Debian packages installed with apt-get (in overlays of /usr, /etc and" \
         "/var for this run):" \
         "$(grep -E '^Setting up ' "$tmp/apt-install.log" | cut -d' ' -f3-4 | tr '\n' ' ')"
    cd "$E2E"
    PYTHONPATH=$E2E PYTHONDONTWRITEBYTECODE=1 exec $HARNESS --install system \
        --workdir "$work" "$@"
}

overlay_possible() {   # prints why not
    [ "$(id -u)" = 0 ] || { echo "not root"; return 1; }
    mkdir -p "$1/upper" "$1/work"
    err=$(unshare --mount --propagation private mount -t overlay overlay \
          -o "lowerdir=/usr,upperdir=$1/upper,workdir=$1/work" /usr 2>&1) ||
        { echo "${err:-mount failed}"; return 1; }
}

case ${1:-} in
    --namespace) shift; namespace_stage "$@"; exit ;;
esac

[ $# -ge 2 ] || { echo "usage: $0 DEB_DIR WORK_BASE [harness options]" >&2; exit 2; }
deb_dir=$(cd "$1" && pwd)
mkdir -p "$2"
work=$(cd "$2" && pwd)
shift 2
debs_of "$deb_dir" > /dev/null
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lp-e2e-debs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if why=$(overlay_possible "$tmp/probe"); then
    status=0
    unshare --mount --propagation private /bin/sh "$E2E/run-debs.sh" --namespace \
        "$tmp" "$deb_dir" "$work" "$@" || status=$?
    exit $status
fi
echo "run-debs.sh: cannot mount an overlay ($why): the packages are unpacked (dpkg-deb -x)"
for deb in $(debs_of "$deb_dir"); do
    dpkg-deb -x "$deb" "$tmp/root"
done
cd "$E2E"
status=0
PYTHONPATH=$E2E PYTHONDONTWRITEBYTECODE=1 $HARNESS --install "unpacked:$tmp/root" \
    --workdir "$work" "$@" || status=$?
exit $status
