#!/bin/sh
# Install the Debian packages and run tests/deb against them, leaving the
# machine as it was (make check-deb; docs/packaging.md).
#
#   tests/deb/run.sh DEB_DIR PACKAGE...
#
# DEB_INSTALL chooses how:
#   overlay  apt-get install in a copy-on-write overlay of this system (own
#            mount namespace, chroot): maintainer scripts, dependencies and
#            file conflicts for real, the tests as autopkgtest runs them,
#            then apt-get purge and a check that nothing is left.  Needs
#            root and overlayfs.  The overlay is discarded: the machine, the
#            suites that use the build tree and a real installation of the
#            packages for an end-to-end test are not disturbed.
#   root     dpkg-deb -x into a temporary directory; the tests with
#            LP_DEB_ROOT pointing there (tests/deb/conftest.py).
#   auto     overlay where one can be mounted, else root, saying why (default).
#
# The script runs itself again for the two inner stages of overlay:
#   run.sh --namespace TMP DEB_DIR PACKAGE...   in the private mount namespace
#   run.sh --chroot PACKAGE...                  inside the overlay's root
set -eu

PYTEST="/usr/bin/python3 -P -m pytest -q -p no:cacheprovider -p no:warnings"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SRC_MOUNT=/tmp/libplacement-src
DEBS_COPY=/tmp/libplacement-debs
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

debs_of() {   # DEB_DIR PACKAGE...: the package files, this changelog's version
    dir=$1
    shift
    version=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -SVersion)
    for p in "$@"; do
        ls "$dir/${p}_${version}_"*.deb
    done
}

# Inside the overlay: install, test, purge, and look for leftovers.
chroot_stage() {
    cd "$SRC"
    export DEBIAN_FRONTEND=noninteractive
    echo "== apt-get install (in the overlay)"
    # Their dependencies are installed already (scripts/deps/deb.txt): apt
    # must not go to the network for them.
    others=$(apt-get install -s --no-install-recommends "$DEBS_COPY"/*.deb |
             awk '$1 == "Inst" {print $2}' | grep -vxF -e "$(echo "$@" | tr ' ' '\n')" || true)
    if [ -n "$others" ]; then
        echo "the packages need others that are not installed: $(echo "$others" | tr '\n' ' ')" >&2
        exit 1
    fi
    apt-get install -y -q --no-install-recommends "$DEBS_COPY"/*.deb \
        > /tmp/apt-install.log 2>&1 || { cat /tmp/apt-install.log; exit 1; }
    grep -E '^Setting up ' /tmp/apt-install.log
    PYTHONDONTWRITEBYTECODE=1 EVENTLET_NO_GREENDNS=yes $PYTEST tests/deb
    echo "== apt-get purge (in the overlay)"
    apt-get purge -y -q "$@" > /tmp/apt-purge.log 2>&1 || { cat /tmp/apt-purge.log; exit 1; }
    left=""
    for p in "$@"; do
        status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
        case $status in un*|"") ;; *) left="$left $p($status)" ;; esac
    done
    for f in /etc/libplacement /lib/systemd/system/libplacement-agent.service \
             /etc/systemd/system/multi-user.target.wants/libplacement-agent.service \
             /var/lib/systemd/deb-systemd-helper-enabled/libplacement-agent.service.dsh-also \
             "/usr/lib/$MULTIARCH/libplacement.so.1" /usr/lib/python3/dist-packages/nova_filter \
             /usr/bin/lpctl /usr/bin/libplacement-agent /usr/include/libplacement.h; do
        [ ! -e "$f" ] || left="$left $f"
    done
    if [ -n "$left" ]; then
        echo "left after apt-get purge:$left" >&2
        exit 1
    fi
    echo "purged: nothing left"
}

# In the private mount namespace: the overlay of / with the kernel's file
# systems, a fresh /run (no way to the machine's systemd), the source tree
# read-only, and the packages.
namespace_stage() {
    tmp=$1
    deb_dir=$2
    shift 2
    root=$tmp/overlay
    mkdir -p "$tmp/upper" "$tmp/work" "$root"
    mount -t overlay overlay -o "lowerdir=/,upperdir=$tmp/upper,workdir=$tmp/work" "$root"
    for d in proc sys dev; do
        mount --rbind "/$d" "$root/$d"
    done
    mount -t tmpfs tmpfs "$root/run"
    mount -t tmpfs tmpfs "$root/tmp"
    mkdir -p "$root$SRC_MOUNT" "$root$DEBS_COPY"
    mount --bind "$SRC" "$root$SRC_MOUNT"
    mount -o remount,bind,ro "$root$SRC_MOUNT"
    for deb in $(debs_of "$deb_dir" "$@"); do
        cp "$deb" "$root$DEBS_COPY/"
    done
    # No service starts (policy-rc.d), no manual index is rebuilt (man-db).
    printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
    chmod 0755 "$root/usr/sbin/policy-rc.d"
    rm -f "$root/var/lib/man-db/auto-update"
    chroot "$root" /bin/sh "$SRC_MOUNT/tests/deb/run.sh" --chroot "$@"
}

# A probe: can an overlay of / be mounted here?  Prints why not.
overlay_possible() {
    [ "$(id -u)" = 0 ] || { echo "not root"; return 1; }
    mkdir -p "$1/upper" "$1/work" "$1/root"
    err=$(unshare --mount --propagation private mount -t overlay overlay \
          -o "lowerdir=/,upperdir=$1/upper,workdir=$1/work" "$1/root" 2>&1) ||
        { echo "${err:-mount failed}"; return 1; }
}

root_stage() {
    tmp=$1
    deb_dir=$2
    shift 2
    root=$tmp/root
    mkdir -p "$root/DEBIAN"
    for p in "$@"; do
        deb=$(debs_of "$deb_dir" "$p")
        dpkg-deb -x "$deb" "$root"
        dpkg-deb -e "$deb" "$root/DEBIAN/$p"
        dpkg-deb --fsys-tarfile "$deb" | tar -t > "$root/DEBIAN/$p/files"
    done
    cd "$SRC"
    LP_DEB_ROOT=$root PYTHONPATH=$root/usr/lib/python3/dist-packages \
    LD_LIBRARY_PATH=$root/usr/lib/$MULTIARCH PYTHONDONTWRITEBYTECODE=1 \
    EVENTLET_NO_GREENDNS=yes $PYTEST tests/deb
}

case ${1:-} in
    --chroot) shift; chroot_stage "$@"; exit ;;
    --namespace) shift; namespace_stage "$@"; exit ;;
esac

deb_dir=$(cd "$1" && pwd)
shift
tmp=$(mktemp -d /tmp/libplacement-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mode=${DEB_INSTALL:-auto}
if [ "$mode" = auto ]; then
    if why=$(overlay_possible "$tmp/probe"); then
        mode=overlay
    else
        echo "tests/deb/run.sh: cannot mount an overlay ($why): the packages are tested unpacked"
        mode=root
    fi
fi
case $mode in
    overlay) unshare --mount --propagation private /bin/sh "$SRC/tests/deb/run.sh" --namespace "$tmp" "$deb_dir" "$@" ;;
    root) root_stage "$tmp" "$deb_dir" "$@" ;;
    *) echo "tests/deb/run.sh: DEB_INSTALL is overlay, root or auto, not '$mode'" >&2; exit 2 ;;
esac
