"""Watcher 9 in-process for the plugin's tests (make check-watcher).

One watcher.conf per test session (a temporary directory): oslo.messaging's
fake transport and no-op notifications, a SQLite database with Watcher's
schema, and the goals and strategies synchronised from the entry points as
the decision engine does when it starts. The plugin's entry points come
from the egg-info that `make python` writes into build/python.
"""

import logging
import os
import sys

import pytest

from agentserver import agents  # noqa: F401  (a fixture)

# Watcher's loaders re-read the configuration with oslo.config's default
# arguments, sys.argv[1:]: pytest's own arguments must not be taken for
# Watcher's.
del sys.argv[1:]

WATCHER_CONF = """[DEFAULT]
transport_url = fake:/
host = watcher-test-{pid}
[database]
connection = sqlite:///{dir}/watcher.sqlite
[oslo_messaging_notifications]
driver = noop
"""


@pytest.fixture(scope='session')
def watcher(tmp_path_factory):
    """Watcher configured, its database created and synchronised.

    Returns an admin request context.
    """
    from oslo_config import cfg

    import watcher.conf  # noqa: F401  (registers Watcher's options)
    from watcher.common import service  # noqa: F401  (and the service's)
    from watcher.common import config
    from watcher.common import context
    from watcher.db.sqlalchemy import migration
    from watcher.decision_engine import sync
    from watcher import objects

    directory = tmp_path_factory.mktemp('watcher')
    path = directory / 'watcher.conf'
    path.write_text(WATCHER_CONF.format(dir=directory, pid=os.getpid()))
    config.parse_args(['watcher-test'], default_config_files=[str(path)])
    objects.register_all()
    migration.create_schema()
    # Alembic's logging.config.fileConfig disabled every logger that existed
    # before it: the plugin's log lines are part of what the tests check.
    for logger in logging.Logger.manager.loggerDict.values():
        if isinstance(logger, logging.Logger):
            logger.disabled = False
    sync.Syncer().sync()
    yield context.make_context(is_admin=True)
    cfg.CONF.reset()
