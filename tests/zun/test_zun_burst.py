"""The cap under bursts of creates, in Zun's own flow (stand-in, see
docs/zun.md): zun-api creates the row, its scheduler (new per request)
rebuilds host states from the database, filters, claims in a real
Placement and casts; zun-compute's claim sets host and cpu_used later.

The research testbed: 4 hosts x 8 threads take 16 two-CPU cpu containers.
"""

import pytest

from zun_driver import consumers

import zunhelpers as zh

HOSTS = ['h0', 'h1', 'h2', 'h3']
AVAILABLE = ['zun.scheduler.filters.all_filters',
             'zun_driver.filters.LibplacementFilter']


@pytest.fixture
def cloud(conf, placement):
    conf.config(group='scheduler', available_filters=AVAILABLE,
                enabled_filters=['RuntimeFilter', 'LibplacementFilter'])
    return zh.Cloud(HOSTS)


def refused(containers):
    return [c for c in containers if c.status == 'Error']


@pytest.mark.parametrize('processes', ['one', 'one per request'])
@pytest.mark.parametrize('claims_late_by', [None, 1, 0])
def test_burst_of_17_keeps_the_cap(cloud, claims_late_by, processes):
    """None: no zun-compute claim lands during the burst; 1: each lands
    one request late; 0: each lands before the next request.  'one per
    request': every request is served by another zun-api process (which
    knows nothing of the others' picks), so only Placement tells."""
    created = []
    for _ in range(17):
        if processes != 'one':
            consumers.PICKS = consumers.Picks()
        created.append(cloud.create('cpu', cpu=2))
        if claims_late_by is not None:
            cloud.deliver(max(0, cloud.in_flight() - claims_late_by))
    per_host = cloud.scheduled(created)
    assert sorted(per_host.values()) == [4, 4, 4, 4], per_host
    assert len(refused(created)) == 1
    cloud.deliver()
    assert sorted(cloud.scheduled(created).values()) == [4, 4, 4, 4]
