# ---- Python extension module `libplacement` (pybind/, setup.py) -------------
#
#   make python              build the module and its egg-info into $(B)/python
#   make check-python        pytest tests/python against it
#   make check-python-leaks  the extension tests against an ASan+UBSan build
#   make install-python      setup.py install into the system Python (DESTDIR ok)
#
# Other fragments run Python code against the build with
#   PYTHONPATH=$(PYTHONPATH_BUILD) $(PYTHON) ...
# which finds the module, the packages and their entry points (egg-info).

PY_BUILD         := $(B)/python
PYTHONPATH_BUILD := $(PY_BUILD):$(CURDIR)
PY_EXT_SUFFIX    := $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))' 2>/dev/null)
PY_EXT           := $(PY_BUILD)/libplacement$(PY_EXT_SUFFIX)
PY_EGG           := $(PY_BUILD)/libplacement.egg-info/entry_points.txt
PY_DEPS          := setup.py $(wildcard pybind/*.c pybind/*.h) \
                    $(wildcard libplacement/include/*.h libplacement/include/libplacement/*.h)
# pytest: no cache in the source tree.
PYTEST           := $(PYTHON) -m pytest -q -p no:cacheprovider

# The ASan build: the library compiled again as PIC (the module is a shared
# object), the module linked against it; python3 itself is not instrumented,
# so libasan is preloaded.
PY_SAN_BUILD     := $(B)/python-san
PY_SAN_LIB       := $(B)/pysan/libplacement-pic-san.a
PY_SAN_OBJS       = $(LIB_SRCS:%.c=$(B)/pysan/%.o)
PY_SAN_EXT       := $(PY_SAN_BUILD)/libplacement$(PY_EXT_SUFFIX)
PY_SAN_CFLAGS    := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

.PHONY: python check-python check-python-leaks install-python

python: $(PY_EXT) $(PY_EGG)

# --force: setuptools only compares the sources, not the static library.
$(PY_EXT): $(PY_DEPS) $(LIB_A)
	LP_LIB_A=$(LIB_A) $(PYTHON) setup.py -q build_ext --force \
	    --build-temp $(B)/python-tmp --build-lib $(PY_BUILD)

$(PY_EGG): setup.py setup.cfg $(wildcard libplacement_oslo/*.py nova_filter/*.py zun_driver/*.py)
	@mkdir -p $(PY_BUILD)
	$(PYTHON) setup.py -q egg_info --egg-base $(PY_BUILD)

# tests/python/test_lpctl_fetch.py drives the lpctl binary.
check-python: python $(B)/lpctl
	LPCTL=$(CURDIR)/$(B)/lpctl PYTHONPATH=$(PYTHONPATH_BUILD) $(PYTEST) tests/python

$(B)/pysan/%.o: %.c $(wildcard libplacement/include/*.h libplacement/include/libplacement/*.h libplacement/src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) -fPIC -c $< -o $@

$(PY_SAN_LIB): $(PY_SAN_OBJS)
	rm -f $@ && ar rcs $@ $^

$(PY_SAN_EXT): $(PY_DEPS) $(PY_SAN_LIB)
	LP_LIB_A=$(PY_SAN_LIB) LP_EXTRA_CFLAGS="-O1 -g $(PY_SAN_CFLAGS)" \
	LP_EXTRA_LDFLAGS="$(PY_SAN_CFLAGS)" $(PYTHON) setup.py -q build_ext --force \
	    --build-temp $(B)/python-san-tmp --build-lib $(PY_SAN_BUILD)

# PYTHONMALLOC=malloc: every Python object goes through ASan's allocator, so
# LeakSanitizer at exit reports a leaked reference (an unreachable object) as
# well as leaked C memory, and fails the run (exit code 23).  The 100,000-call
# RSS loops are for the plain build; under ASan (quarantine, shadow memory)
# RSS says nothing, so they run shorter and LSan judges.
check-python-leaks: $(PY_SAN_EXT) $(PY_EGG)
	LD_PRELOAD=$$($(CC) -print-file-name=libasan.so) PYTHONMALLOC=malloc \
	ASAN_OPTIONS=detect_leaks=1:exitcode=23 UBSAN_OPTIONS=print_stacktrace=1 \
	LP_TEST_LOOPS=2000 LP_TEST_ASAN=1 \
	PYTHONPATH=$(PY_SAN_BUILD):$(PYTHONPATH_BUILD) $(PYTEST) tests/python/test_ext.py \
	    tests/python/test_rebalance.py

CHECK_TARGETS += check-python check-python-leaks

# Where /usr/bin/python3 looks: PREFIX=/usr uses Debian's layout
# (/usr/lib/python3/dist-packages), PREFIX=/usr/local gives
# /usr/local/lib/python3.X/dist-packages.  Build tree and egg-info go under
# $(B), never into the source tree.
# Debian's setuptools inserts "local" into a --prefix other than /usr (giving
# /usr/local/local/...), so other prefixes name the library directory outright.
PY_SITE_LOCAL := $(PREFIX)/lib/python$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')/dist-packages

install-python: $(LIB_A)
	@mkdir -p $(B)/python-setup
	LP_LIB_A=$(LIB_A) $(PYTHON) setup.py -q egg_info --egg-base $(B)/python-setup \
	    build --build-base $(B)/python-setup \
	    install --root=$(if $(DESTDIR),$(DESTDIR),/) --prefix=$(PREFIX) \
	    $(if $(filter /usr,$(PREFIX)),--install-layout=deb,--install-lib=$(PY_SITE_LOCAL)) \
	    --single-version-externally-managed

INSTALL_TARGETS += install-python
