"""lp.Fetcher against a real HTTP server on loopback (fake_agents.py).

The server is Python code in this process: every successful fetch also shows
that Fetcher.fetch() releases the GIL, since the server could not answer
otherwise.
"""

import threading
import time

import pytest

import libplacement as lp
from fake_agents import TOKEN, server  # noqa: F401 (server is a fixture)


def fetcher(srv, **kw):
    kw.setdefault('timeout_ms', 1000)
    return lp.Fetcher('http://127.0.0.1:%d/{host}/v1/snapshot' % srv.server_address[1], **kw)


def test_good_agents_in_one_call(server):
    f = fetcher(server)
    hosts = ['node-%d' % i for i in range(30)]
    fresh, errors = f.fetch(hosts)
    assert errors == {}
    assert isinstance(fresh, lp.Cluster)
    assert sorted(fresh.names()) == sorted(hosts)
    by_name = {h['host']: h for h in fresh.hosts()}
    assert by_name['node-7']['load']['demand'] == 7.0
    assert by_name['node-7']['cpu']['threads'] == 8


def test_misbehaving_agents_fail_alone(server):
    # Long enough for the good agents on a loaded machine; the hung one
    # never answers, so it times out whatever the timeout.
    f = fetcher(server, timeout_ms=3000, max_bytes=65536)
    t0 = time.monotonic()
    fresh, errors = f.fetch(['ok-1', 'hang', 'garbage', 'error', 'big', 'ok-2'])
    took = time.monotonic() - t0
    assert sorted(fresh.names()) == ['ok-1', 'ok-2']
    assert set(errors) == {'hang', 'garbage', 'error', 'big'}
    assert 'timed out' in errors['hang']
    assert errors['garbage'].startswith('garbage: ')
    assert 'HTTP status 500' in errors['error']
    assert 'larger than max_bytes' in errors['big']
    # Hang guard (not a benchmark): the hung agent costs one timeout, which
    # generous slack for a loaded machine cannot hide.
    assert took < 3 + 30


def test_bad_host_names_are_errors_without_io(server):
    f = fetcher(server)
    fresh, errors = f.fetch(['a b', 'x/../y', '', 'nul\0byte', 'fine-2'])
    assert fresh.names() == ['fine-2']
    assert set(errors) == {'a b', 'x/../y', '', 'nul\0byte'}
    assert 'position 1' in errors['a b']
    assert 'empty' in errors['']
    assert '0x00 at position 3' in errors['nul\0byte']
    assert server.hits == ['fine-2']


def test_cache_and_ttl(server):
    # fresh while at most ttl_s old by the snapshot's own time (no clock skew allowed)
    f = fetcher(server, ttl_s=4, max_skew_s=0)
    assert f.cached('node-3') is None
    fresh, _ = f.fetch(['node-3'])
    assert len(fresh) == 1
    fresh, errors = f.fetch(['node-3', 'node-3'])  # listed twice: one host, no error
    assert fresh.names() == ['node-3'] and errors == {}
    assert server.hits == ['node-3']  # the second call was served from the cache
    snap = f.cached('node-3')
    assert snap['host'] == 'node-3'
    assert snap['load']['demand'] == 3.0
    time.sleep(4.2)
    assert f.cached('node-3') is None  # stale: never used
    f.fetch(['node-3'])
    assert server.hits == ['node-3', 'node-3']


def test_refresh_s_asks_again_before_the_snapshot_is_stale(server):
    # ttl 60 s: the snapshot stays fresh; refresh_s 0.3 s: the second call,
    # later than that, asks the agent again instead of using the cache.
    f = fetcher(server, ttl_s=60, refresh_s=0.3)
    assert f.refresh_s == 0.3
    f.fetch(['node-4'])
    time.sleep(0.5)
    fresh, errors = f.fetch(['node-4'])
    assert errors == {} and fresh.names() == ['node-4']
    assert server.hits == ['node-4', 'node-4']
    with pytest.raises(ValueError, match='refresh_s 90 is out of range 0..ttl_s'):
        fetcher(server, ttl_s=60, refresh_s=90)


def test_bearer_token(server):
    fresh, errors = fetcher(server).fetch(['secure-1'])
    assert len(fresh) == 0 and 'HTTP status 401' in errors['secure-1']
    fresh, errors = fetcher(server, token=TOKEN).fetch(['secure-1'])
    assert fresh.names() == ['secure-1'] and errors == {}


def test_other_threads_run_during_fetch(server):
    # The 'gate' agent answers only once another Python thread has run 20
    # times and opened the gate: with the GIL held during the fetch, that
    # thread could not run, and the fetch would end in its timeout instead.
    f = fetcher(server, timeout_ms=30000)
    ticks = []

    def tick():
        while len(ticks) < 20:
            ticks.append(1)
            time.sleep(0.01)
        server.gate.set()

    t = threading.Thread(target=tick)
    t.start()
    fresh, errors = f.fetch(['gate-4'])
    t.join()
    assert errors == {} and fresh.names() == ['gate-4']


def test_one_fetcher_shared_by_threads(server):
    f = fetcher(server, ttl_s=0)
    results = {}

    def work(k):
        results[k] = f.fetch(['t%d-%d' % (k, i) for i in range(10)])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(4):
        fresh, errors = results[k]
        assert errors == {} and len(fresh) == 10


def test_options_and_arguments_checked():
    with pytest.raises(ValueError, match='has no {host}'):
        lp.Fetcher('http://example.org/snapshot')
    with pytest.raises(ValueError, match='http:// or https://'):
        lp.Fetcher('ftp://{host}/x')
    with pytest.raises(ValueError, match='timeout_ms 0'):
        lp.Fetcher('http://{host}/x', timeout_ms=0)
    with pytest.raises(ValueError, match='max_parallel'):
        lp.Fetcher('http://{host}/x', max_parallel=0)
    with pytest.raises(ValueError, match='token'):
        lp.Fetcher('http://{host}/x', token='a\r\nX-Injected: 1')
    with pytest.raises(TypeError):
        lp.Fetcher('http://{host}/x', 1000)  # options are keyword-only
    f = lp.Fetcher('http://{host}:9180/v1/snapshot', timeout_ms=700, ttl_s=5)
    assert f.url_template == 'http://{host}:9180/v1/snapshot'
    assert (f.timeout_ms, f.connect_timeout_ms, f.max_bytes, f.ttl_s, f.max_parallel) == \
        (700, 300, 1048576, 5.0, 64)
    assert 'timeout_ms=700' in repr(f)
    assert (f.ca_file, f.max_skew_s) == (None, 5.0)
    with pytest.raises(ValueError, match='max_skew_s 4000 is out of range'):
        lp.Fetcher('http://{host}/x', max_skew_s=4000)
    with pytest.raises(ValueError, match="ca_file '/nonexistent/ca.pem' cannot be read"):
        lp.Fetcher('https://{host}/x', ca_file='/nonexistent/ca.pem')
    assert lp.Fetcher('http://{host}/x', timeout_ms=200).connect_timeout_ms == 200
    with pytest.raises(ValueError, match='connect_timeout_ms 900'):
        lp.Fetcher('http://{host}/x', timeout_ms=500, connect_timeout_ms=900)
    with pytest.raises(TypeError, match=r'hosts\[1\] must be str'):
        f.fetch(['a', 2])
    with pytest.raises(TypeError):
        f.cached(3)
    fresh, errors = f.fetch([])
    assert len(fresh) == 0 and errors == {}
