"""pytest plugin: run Nova's own functional tests with the plugin enabled.

Loaded with ``-p nova_upstream_plugin`` (make check-nova-upstream) for
Nova's nova/tests/functional/test_server_group.py, unmodified. Right before
each test starts its scheduler service, the plugin's filters are appended
to the test's ``enabled_filters`` and ParallelismWeigher to its
``weight_classes`` (the options are read when the scheduler starts), with
the ``[libplacement]`` defaults. Also, for running Nova's tests from
Debian's package under pytest: the API's paste config is the one
nova-common installs, and nova.test.TestCase keeps the test method pytest
still holds. Set LIBPLACEMENT_NOVA_PLUGIN=off to run the same tests on
stock Nova.
"""

import os

import nova.conf
from nova import test
from nova.tests.fixtures import conf as conf_fixture

from nova_filter import engine
from nova_filter import opts

import testbed

CONF = nova.conf.CONF
ENABLED = os.environ.get('LIBPLACEMENT_NOVA_PLUGIN', 'on') != 'off'


def _conf_set_up(original):
    def setUp(self):
        original(self)
        self.conf.set_default('api_paste_config', testbed.API_PASTE,
                              group='wsgi')
    return setUp


def _start_service(original):
    def start_service(self, name, *args, **kwargs):
        if name == 'scheduler' and ENABLED:
            fs = CONF.filter_scheduler
            self.flags(
                available_filters=(list(fs.available_filters)
                                   + ['nova_filter.all_filters']),
                enabled_filters=(list(fs.enabled_filters)
                                 + ['ParallelismFilter', 'RuntimeFilter']),
                weight_classes=(list(fs.weight_classes)
                                + ['nova_filter.weighers.ParallelismWeigher']),
                group='filter_scheduler')
            # A new cloud: nothing the last test's scheduler recorded.
            engine.reset()
            self.addCleanup(engine.reset)
        return original(self, name, *args, **kwargs)
    return start_service


def pytest_configure(config):
    opts.register_opts(CONF)
    conf_fixture.ConfFixture.setUp = _conf_set_up(
        conf_fixture.ConfFixture.setUp)
    test.TestCase.start_service = _start_service(test.TestCase.start_service)
    # nova.test.TestCase deletes every attribute after a test, including
    # the test method pytest still holds.
    test.TestCase._clear_attrs = lambda self: None


def pytest_report_header(config):
    return ('libplacement: Nova functional tests with ParallelismFilter, '
            'RuntimeFilter and ParallelismWeigher %s'
            % ('enabled' if ENABLED else 'NOT enabled (stock Nova)'))
