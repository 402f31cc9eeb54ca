# ---- Debian packages (debian/, docs/packaging.md) ----------------------------
#
#   make deb         libplacement1, libplacement-dev, python3-libplacement,
#                    libplacement-agent, libplacement-tools (and the source
#                    package) into $(B)/deb/, built with dpkg-buildpackage from a
#                    copy of the tree (the files git tracks or would track) in
#                    $(B)/deb/src; a build of the same tree is reused
#   make check-deb   make deb, lintian (fails on errors and warnings), then the
#                    packages' tests (tests/deb, also their autopkgtests), the
#                    packages installed with apt-get in a throw-away overlay of
#                    this system, or unpacked: the machine stays as it was
#
# DEB_BUILD_OPTIONS is passed on (default nocheck: `make check` runs the suites;
# DEB_BUILD_OPTIONS= runs the C unit tests in the hardened package build too).

DEB_DIR             := $(B)/deb
DEB_BUILD_OPTIONS   ?= nocheck
DEB_JOBS            ?= 2
# Evaluated only when a recipe uses it (dpkg's tools take a while to start).
DEB_VERSION         = $(shell dpkg-parsechangelog -l debian/changelog -SVersion)
DEB_PACKAGES        := libplacement1 libplacement-dev python3-libplacement libplacement-agent \
                       libplacement-tools
LINTIAN             ?= lintian

.PHONY: deb check-deb

# The tree as a tarball with fixed owners and times (the changelog's, as
# dpkg clamps them), so that its hash changes only with the contents; the
# build runs when the hash (with the build options) differs from the last
# build's.
deb:
	@mkdir -p $(DEB_DIR)
	@git ls-files -z --cached --others --exclude-standard \
	  | tar --null -T - --ignore-failed-read --sort=name --owner=0 --group=0 --numeric-owner \
	        --mtime=@$$(dpkg-parsechangelog -l debian/changelog -STimestamp) -cf $(DEB_DIR)/tree.tar
	@set -e; d=$(abspath $(DEB_DIR)); \
	key="$$(sha256sum < $$d/tree.tar | cut -d' ' -f1) $(DEB_BUILD_OPTIONS)"; \
	if [ "$$key" = "$$(cat $$d/.built 2>/dev/null)" ] && ls $$d/*.changes >/dev/null 2>&1; then \
	  rm $$d/tree.tar; \
	  echo "deb: $(DEB_DIR) holds the packages of this tree"; exit 0; fi; \
	rm -rf $$d/src $$d/.built $$d/*.deb $$d/*.buildinfo $$d/*.changes $$d/*.dsc $$d/*.tar.*; \
	mkdir -p $$d/src/libplacement; \
	tar -xf $$d/tree.tar -C $$d/src/libplacement; rm $$d/tree.tar; \
	echo "deb: dpkg-buildpackage in $(DEB_DIR)/src (log: $(DEB_DIR)/build.log)"; \
	if ! (cd $$d/src/libplacement && DEB_BUILD_OPTIONS="$(DEB_BUILD_OPTIONS)" \
	      dpkg-buildpackage --no-sign -j$(DEB_JOBS)) > $$d/build.log 2>&1; then \
	  tail -n 60 $$d/build.log; echo "deb: build failed (log: $(DEB_DIR)/build.log)" >&2; exit 1; fi; \
	cp $$d/src/*.deb $$d/src/*.buildinfo $$d/src/*.changes $$d/src/*.dsc $$d/src/*.tar.* $$d/; \
	echo "$$key" > $$d/.built; \
	ls -1 $(DEB_DIR)/*.deb

# tests/deb/run.sh installs the packages in an overlay of this system, or
# unpacks them (DEB_INSTALL=overlay, root or auto), and runs tests/deb.
DEB_INSTALL ?= auto

check-deb: deb
	$(LINTIAN) --fail-on error,warning --info $(DEB_DIR)/libplacement_$(DEB_VERSION)_*.changes
	DEB_INSTALL=$(DEB_INSTALL) tests/deb/run.sh $(DEB_DIR) $(DEB_PACKAGES)

CHECK_TARGETS += check-deb
