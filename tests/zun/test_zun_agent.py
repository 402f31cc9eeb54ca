"""LibplacementFilter with agent snapshots, served over real HTTP.

Snapshots are fetched in the background: a request uses what the process
already holds and never waits for an agent.
"""

import json
import logging
import os
import select
import subprocess
import sys
import time

from zun_driver import agents as lp_agents
from zun_driver import filters

from agentserver import GUARD_S
from agentserver import snapshot
from agentserver import workload
import zunhelpers as zh


def shared():
    import zun.conf
    return lp_agents.shared(zun.conf.CONF.libplacement)


def run(hosts, cnt=None, extra_spec=None):
    return zh.names(filters.LibplacementFilter().filter_all(
        hosts, cnt or zh.container('cpu', cpu=2), extra_spec or {}))


def refreshed(hosts, cnt=None, extra_spec=None):
    """A request, its background refresh awaited, then another request."""
    run(hosts, cnt, extra_spec)
    assert shared().wait_idle(GUARD_S)
    return run(hosts, cnt, extra_spec)


def test_request_never_waits_for_an_agent(agents):
    """The agent holds its answer: the request returns with declared
    demand meanwhile, and uses the snapshot once it has arrived."""
    agents.snapshots = {'busy': snapshot('busy', 8, 7.0)}
    agents.hold.clear()
    hosts = [zh.host('busy'), zh.host('calm', cpu_used=3)]
    assert run(hosts) == ['busy', 'calm']       # declared: busy is idle
    deadline = time.monotonic() + GUARD_S
    while 'busy' not in agents.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert 'busy' in agents.requests and agents.answered == []
    agents.hold.set()
    assert shared().wait_idle(GUARD_S)
    assert run(hosts) == ['calm']                # measured: 7 + 2 > 8


def test_measured_demand_replaces_declared(agents):
    # Zun declares both hosts idle; the agent on busy sees 7 threads busy.
    agents.snapshots = {'busy': snapshot('busy', 8, 7.0),
                        'calm': snapshot('calm', 8, 3.0)}
    hosts = [zh.host('busy'), zh.host('calm'), zh.host('noagent')]
    # noagent falls back to declared demand (0) and is the emptiest.
    assert refreshed(hosts) == ['noagent', 'calm']
    assert sorted(agents.requests) == ['busy', 'calm', 'noagent']


def test_group_members_from_snapshots(agents):
    agents.snapshots = {'a': snapshot('a', 8, 1.0),
                        'b': snapshot('b', 8, 1.5,
                                      [workload('web-1', 'web')])}
    # A communicating net group member goes where its group already runs.
    assert refreshed([zh.host('a'), zh.host('b')], zh.container('net', cpu=1),
                     {'hints': {'libplacement_group': 'web'}}) == ['b', 'a']


def test_snapshots_reused_across_requests(agents):
    """Zun makes a filter per request; snapshots live for agent_ttl."""
    agents.snapshots = {'a': snapshot('a', 8, 7.0)}
    assert refreshed([zh.host('a')]) == []
    for _ in range(3):
        assert run([zh.host('a')]) == []
    assert agents.requests == ['a']


def test_snapshot_ages_by_its_own_time(agents, conf):
    """A snapshot measured longer than agent_ttl ago is not used, however
    recently it was fetched."""
    conf.config(group='libplacement', agent_ttl=60)
    agents.snapshots = {'old': snapshot('old', 8, 7.0, age=70),
                        'aging': snapshot('aging', 8, 7.0, age=40)}
    assert refreshed([zh.host('old'), zh.host('aging')]) == ['old']
    assert shared().get('old') is None
    assert 30 < time.time() - shared().get('aging').time < 60


def test_snapshot_fetched_again_past_half_its_ttl(agents, conf):
    conf.config(group='libplacement', agent_ttl=2)
    agents.snapshots = {'a': snapshot('a', 8, 7.0)}
    assert refreshed([zh.host('a')]) == []
    assert agents.requests == ['a']
    time.sleep(1.1)             # past agent_ttl / 2 by the snapshot's time
    run([zh.host('a')])
    assert shared().wait_idle(GUARD_S)
    assert agents.requests == ['a', 'a']


def test_refresh_keeps_hosts_other_requests_fetched(agents):
    agents.snapshots = {'a': snapshot('a', 8, 7.0),
                        'b': snapshot('b', 8, 7.0)}
    assert refreshed([zh.host('a')]) == []
    assert refreshed([zh.host('b')]) == []
    assert run([zh.host('a'), zh.host('b'), zh.host('c')]) == ['c']


def test_agent_down_falls_back_to_declared_demand(conf):
    conf.config(group='libplacement', agent_timeout=0.5,
                agent_url='http://127.0.0.1:9/{host}/v1/snapshot')
    hosts = [zh.host('full', cpu_used=7), zh.host('ok', cpu_used=1)]
    assert refreshed(hosts) == ['ok']


def test_unreachable_agents_warned_at_most_once_per_interval(
        agents, conf, caplog):
    """Retried every agent_ttl / 2 seconds, warned about once per
    WARN_INTERVAL, and told when it answers again."""
    conf.config(group='libplacement', agent_ttl=1)
    hosts = [zh.host('gone%d' % i) for i in range(12)]
    caplog.set_level(logging.INFO, logger='zun_driver.agents')
    for _ in range(3):
        refreshed(hosts)
        time.sleep(0.6)          # past agent_ttl / 2: retried
    assert agents.requests.count('gone0') >= 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert 'no agent snapshot from 12 host(s)' in message
    assert 'gone0: HTTP status 404' in message and '(and 2 more)' in message
    agents.snapshots = {'gone0': snapshot('gone0', 8, 1.0)}
    refreshed(hosts)
    assert any('agent snapshots again from gone0' in r.getMessage()
               for r in caplog.records if r.levelno == logging.INFO)


EVENTLET_SCRIPT = r'''
import eventlet
eventlet.monkey_patch()
import json, sys, time
sys.path[:0] = sys.argv[1].split(':')
import conftest  # the stand-in as package zun
import zun.conf
from zun_driver import agents, filters
import zunhelpers as zh

CONF = zun.conf.CONF
CONF([], default_config_files=[])
CONF.set_override('agent_url', sys.argv[2], group='libplacement')
CONF.set_override('agent_timeout', 600, group='libplacement')
ticks = [0]

def wait_for_test():
    eventlet.hubs.trampoline(sys.stdin.fileno(), read=True)
    sys.stdin.readline()

def ticker():
    while True:
        ticks[0] += 1
        eventlet.sleep(0.001)

eventlet.spawn_n(ticker)
hosts = [zh.host('busy'), zh.host('calm', cpu_used=3)]
got = filters.LibplacementFilter().filter_all(hosts, zh.container('cpu'), {})
print(json.dumps({'first': zh.names(got)}), flush=True)
wait_for_test()                # the agent holds its answer until then
before = ticks[0]
eventlet.sleep(0.2)
print(json.dumps({'ticks_while_fetching': ticks[0] - before}), flush=True)
wait_for_test()                # the agent has answered
shared = agents.shared(CONF.libplacement)
deadline = time.monotonic() + 60
while shared._refreshing and time.monotonic() < deadline:
    eventlet.sleep(0.01)
got = filters.LibplacementFilter().filter_all(hosts, zh.container('cpu'), {})
print(json.dumps({'second': zh.names(got)}), flush=True)
'''


def test_eventlet_hub_keeps_running_while_an_agent_hangs(agents, tmp_path):
    """zun-api under eventlet: the fetch runs in a native thread (tpool),
    so green threads (other requests) keep running while it waits."""
    agents.snapshots = {'busy': snapshot('busy', 8, 7.0)}
    agents.hold.clear()
    here = os.path.dirname(os.path.abspath(__file__))
    script = tmp_path / 'eventlet_run.py'
    script.write_text(EVENTLET_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), os.pathsep.join([here] + sys.path),
         'http://127.0.0.1:%d/{host}/v1/snapshot'
         % agents.server_address[1]],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, EVENTLET_NO_GREENDNS='yes'))

    def line():
        # A hub frozen by a blocking fetch answers only when the fetch
        # times out (600 s): the guard turns that into a failure.
        ready, _, _ = select.select([proc.stdout], [], [], GUARD_S)
        assert ready, 'the eventlet process stopped answering'
        return json.loads(proc.stdout.readline())

    try:
        assert line() == {'first': ['busy', 'calm']}
        deadline = time.monotonic() + GUARD_S
        while 'busy' not in agents.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        assert 'busy' in agents.requests
        proc.stdin.write('\n')
        proc.stdin.flush()
        ticks = line()['ticks_while_fetching']
        assert ticks > 0 and agents.answered == []
        agents.hold.set()
        deadline = time.monotonic() + GUARD_S
        while not agents.answered and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.stdin.write('\n')
        proc.stdin.flush()
        assert line() == {'second': ['calm']}
    finally:
        agents.hold.set()
        proc.stdin.close()
        proc.kill()
        proc.wait(GUARD_S)
        proc.stdout.close()
