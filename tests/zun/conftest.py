"""Put the Zun stand-in (tests/zun/standin) on sys.path as package ``zun``.

Zun is not packaged in Debian; the plugin is tested against a stand-in of
the Zun interfaces it touches (docs/zun.md), imported under Zun's real
module names so that zun_driver runs unchanged against either.
"""

import os
import sys
import threading

from keystoneauth1 import loading as ka_loading
import pytest

STANDIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'standin')
sys.path.insert(0, STANDIN)

import zun  # noqa: E402

assert os.path.dirname(zun.__file__).startswith(STANDIN), zun.__file__

from oslo_config import fixture as config_fixture  # noqa: E402
import zun.conf  # noqa: E402
from zun.compute import rpcapi  # noqa: E402
from zun.db import api as dbapi  # noqa: E402

from zun_driver import consumers  # noqa: E402

import agentserver  # noqa: E402
import placement_service  # noqa: E402


@pytest.fixture(autouse=True)
def zun_state():
    """Every test starts with an empty Zun database, no casts in flight
    and no picks of earlier tests (they are per process, as in zun-api)."""
    dbapi.reset()
    del rpcapi.CASTS[:]
    consumers.PICKS = consumers.Picks()
    yield


@pytest.fixture
def conf():
    """zun.conf.CONF with overrides undone after the test."""
    fixture = config_fixture.Config(zun.conf.CONF)
    fixture.setUp()
    yield fixture
    fixture.cleanUp()


@pytest.fixture(scope='session')
def placement_server(tmp_path_factory):
    """One real Placement service (HTTP, own process) for the session."""
    service = placement_service.PlacementService(
        tmp_path_factory.mktemp('placement'))
    yield service
    service.stop()


@pytest.fixture
def placement(placement_server, conf):
    """Zun's [keystone_auth] pointed at the Placement service; every
    resource provider and allocation a test made is removed after it."""
    conf.register_opts(ka_loading.get_auth_plugin_conf_options('admin_token'),
                       group='keystone_auth')
    conf.config(group='keystone_auth', auth_type='admin_token',
                endpoint=placement_server.endpoint, token='admin')
    yield placement_server
    placement_service.clear(placement_server.endpoint)


@pytest.fixture
def agents(conf):
    """An agentserver.Agents server (no snapshots yet) that
    ``[libplacement] agent_url`` points at."""
    server = agentserver.Agents({})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    conf.config(group='libplacement',
                agent_url='http://127.0.0.1:%d/{host}/v1/snapshot'
                          % server.server_address[1],
                agent_timeout=agentserver.GUARD_S)
    yield server
    server.hold.set()
    server.shutdown()
    server.server_close()
    thread.join()
