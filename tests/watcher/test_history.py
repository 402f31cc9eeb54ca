"""Cool-down history read from Watcher's action records."""

import time

from cloudmodel import uuid
import watcherdb

from libplacement_watcher import history

TYPES = ('migrate', 'libplacement_runtime_switch')


def test_recent_moves_and_switches_count(watcher):
    plan = watcherdb.action_plan(watcher)
    before = time.time()
    moved = uuid('history-moved')
    switched = uuid('history-switched')
    moving = uuid('history-moving')
    watcherdb.action(watcher, plan, 'migrate', moved, 'SUCCEEDED')
    watcherdb.action(watcher, plan, 'libplacement_runtime_switch', switched,
                     'SUCCEEDED')
    watcherdb.action(watcher, plan, 'migrate', moving, 'ONGOING')
    # Not moved: failed, cancelled, still pending, or not a move.
    watcherdb.action(watcher, plan, 'migrate', uuid('history-failed'),
                     'FAILED')
    watcherdb.action(watcher, plan, 'migrate', uuid('history-pending'),
                     'PENDING')
    watcherdb.action(watcher, plan, 'resize', uuid('history-resized'),
                     'SUCCEEDED')
    after = time.time()

    now = after + 600
    recent = history.recent_actions(watcher, TYPES, now, 3600)
    assert set(recent) >= {moved, switched, moving}
    for gone in ('history-failed', 'history-pending', 'history-resized'):
        assert uuid(gone) not in recent
    # A finished action counts from when it finished (the database keeps
    # whole seconds or better), a running one as now.
    assert before - 1 <= recent[moved] <= after + 1
    assert before - 1 <= recent[switched] <= after + 1
    assert recent[moving] == now


def test_window_and_zero_cooldown(watcher):
    plan = watcherdb.action_plan(watcher)
    moved = uuid('history-old')
    watcherdb.action(watcher, plan, 'migrate', moved, 'SUCCEEDED')
    now = time.time()
    assert moved in history.recent_actions(watcher, TYPES, now + 100, 3600)
    assert moved not in history.recent_actions(watcher, TYPES, now + 7300,
                                               3600)
    assert history.recent_actions(watcher, TYPES, now, 0) == {}


def test_unreadable_database_means_no_history(watcher, caplog):
    from oslo_config import cfg
    from watcher.db.sqlalchemy import api as db_api

    # Watcher opens its database lazily, once: point a fresh engine at a
    # file that cannot exist, then give the suite its database back.
    saved = db_api._FACADE
    cfg.CONF.set_override('connection', 'sqlite:////nonexistent/dir/w.db',
                          group='database')
    db_api._FACADE = None
    try:
        recent = history.recent_actions(watcher, TYPES, time.time(), 3600)
    finally:
        cfg.CONF.clear_override('connection', group='database')
        db_api._FACADE = saved
    assert recent == {}
    assert "cannot read Watcher's action history" in caplog.text
