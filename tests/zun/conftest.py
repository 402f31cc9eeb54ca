"""Put the Zun stand-in (tests/zun/standin) on sys.path as package ``zun``.

Zun is not packaged in Debian; the plugin is tested against a stand-in of
the Zun interfaces it touches (docs/zun.md), imported under Zun's real
module names so that zun_driver runs unchanged against either.
"""

import os
import sys

import pytest

STANDIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'standin')
sys.path.insert(0, STANDIN)

import zun  # noqa: E402

assert os.path.dirname(zun.__file__).startswith(STANDIN), zun.__file__

from oslo_config import fixture as config_fixture  # noqa: E402
import zun.conf  # noqa: E402


@pytest.fixture
def conf():
    """zun.conf.CONF with overrides undone after the test."""
    fixture = config_fixture.Config(zun.conf.CONF)
    fixture.setUp()
    yield fixture
    fixture.cleanUp()
