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


def test_request_between_filter_and_placement_claim(cloud, monkeypatch):
    """Zun claims in Placement after the filter returns; a request of the
    same process that filters in between (green threads switch on every
    Placement call) still counts the first pick."""
    from zun.scheduler.client import report

    claim = report.SchedulerReportClient.claim_resources
    nested = []

    def claim_after_another_request(self, *args, **kwargs):
        if not nested:
            nested.append(None)
            nested[0] = cloud.create('cpu', cpu=6)
        return claim(self, *args, **kwargs)

    monkeypatch.setattr(report.SchedulerReportClient, 'claim_resources',
                        claim_after_another_request)
    first = cloud.create('cpu', cpu=6)
    per_host = cloud.scheduled([first] + nested)
    assert sorted(per_host.values()) == [1, 1], per_host


def test_net_group_member_in_flight_is_counted(cloud):
    """A net group keeps together: the second member goes where the first
    was sent, before zun-compute has claimed it (the hint is stored as the
    container's label at once: Zun keeps no hints)."""
    hints = {'libplacement_group': 'web'}
    first = cloud.create('net', cpu=1, hints=hints)
    [(host, _n)] = cloud.scheduled([first]).items()
    stored = [c for c in zh.objects.Container.list(cloud.context)
              if c.uuid == first.uuid][0]
    assert stored.labels['libplacement.group'] == 'web'
    assert stored.host is None              # not claimed yet
    for _ in range(3):
        consumers.PICKS = consumers.Picks()  # another zun-api process
        cloud.create('net', cpu=1, hints=hints)
    assert cloud.scheduled(zh.objects.Container.list(cloud.context)) == {
        host: 4}
