"""What Placement holds against each compute node, with Zun's own records.

zun-api claims a container's resources in Placement (allocations against the
chosen node's resource provider) right after scheduling it; only later does
zun-compute's claim set the container's ``host`` and add its cpu to the
node's ``cpu_used`` in Zun's database.  Zun's scheduler rebuilds its host
states from that database on every request, so it cannot see containers in
between.  Placement can: every consumer with an allocation on a node's
provider is on that node, whichever zun-api process claimed it.

``node_consumers`` asks Placement, through Zun's own report client (the
class and the ``[placement_client]`` / ``[keystone_auth]`` options Zun's
scheduler uses), for the allocations on each node, and Zun's database for
the containers among those consumers (one query for all nodes).
"""

import threading
import time

from oslo_log import log as logging
from zun.common import context as zun_context
from zun import objects
from zun.scheduler.client import report

from zun_driver import request as lp_request
from zun_driver import threads

LOG = logging.getLogger(__name__)

#: Placement requests in flight at once for one scheduling request.
CONCURRENT_LOOKUPS = 8
#: Container uuids per database query.
UUIDS_PER_QUERY = 500
#: Seconds between two warnings that Placement cannot be asked at all.
UNAVAILABLE_LOG_INTERVAL = 60.0
#: Seconds a pick of this process is counted while Placement does not show
#: it (Zun claims it in Placement right after filtering; a pick that never
#: shows up was not claimed).
PICK_TTL = 30.0


class Consumer(object):
    """One consumer of a node's resource provider in Placement.

    ``container`` is its Zun container (a Container object, read from Zun's
    database now) or None when it is no Zun container (e.g. a Nova server
    on a node shared with Nova, or a capsule); ``vcpus`` and ``memory_mb``
    are what Placement holds for it on this node.
    """

    __slots__ = ('uuid', 'vcpus', 'memory_mb', 'container')

    def __init__(self, uuid, vcpus, memory_mb, container=None):
        self.uuid = uuid
        self.vcpus = vcpus
        self.memory_mb = memory_mb
        self.container = container

    def ids(self):
        """The ids an agent may list this consumer under: the Placement
        consumer (Zun container uuid, Nova server uuid) and the Docker
        container id."""
        ids = {self.uuid}
        if self.container is not None:
            docker_id = lp_request.container_field(self.container,
                                                   'container_id')
            if docker_id:
                ids.add(docker_id)
        return ids

    def reported_by(self, hostname):
        """True when the node's own numbers (cpu_used, mem_used) include it:
        zun-compute's claim has set the container's host to the node."""
        return (self.container is not None and
                lp_request.container_field(self.container, 'host') ==
                hostname)


_report_client = None


def _client():
    """Zun's SchedulerReportClient, built on first use, one per process
    (Zun builds a new one per API request; its keystone session and token
    are worth keeping)."""
    global _report_client
    if _report_client is None:
        _report_client = report.SchedulerReportClient()
    return _report_client


_unavailable_logged = [None]


def node_consumers(host_states, skip_uuid=None):
    """{hostname: [Consumer]} for the hosts whose allocations Placement gave.

    Hosts without a resource provider uuid are left out; so are hosts whose
    lookup failed, and every host when Placement or Zun's database cannot
    be asked at all (logged with the reason, at most every
    ``UNAVAILABLE_LOG_INTERVAL`` seconds: containers being created are then
    not counted, the rest of the filter works as before).

    :param skip_uuid: the container being scheduled (not counted on any
                      node, should Zun retry it).
    """
    hosts = [h for h in host_states if h.uuid]
    if not hosts:
        return {}
    try:
        return _node_consumers(hosts, skip_uuid)
    except Exception as e:
        now = time.monotonic()
        last = _unavailable_logged[0]
        if last is None or now - last >= UNAVAILABLE_LOG_INTERVAL:
            _unavailable_logged[0] = now
            LOG.warning('libplacement: cannot read what Placement holds '
                        'against the nodes (%s); containers being created '
                        'are not counted until it can. Check Zun\'s '
                        '[keystone_auth] and [placement_client] options.',
                        e)
        return {}


def _node_consumers(hosts, skip_uuid):
    context = zun_context.get_admin_context(all_projects=True)
    client = _client()

    def allocations(host):
        try:
            info = client.get_allocations_for_resource_provider(context,
                                                                host.uuid)
            return host, info.allocations, None
        except Exception as e:
            return host, None, e

    by_host = {}
    for host, allocs, error in threads.map_concurrent(
            allocations, hosts, CONCURRENT_LOOKUPS):
        if error is not None:
            LOG.warning('libplacement: no allocations from Placement for '
                        'host %s (resource provider %s): %s; containers '
                        'being created there are not counted', host.hostname,
                        host.uuid, error)
            continue
        by_host[host.hostname] = [
            Consumer(uuid, float(a['resources'].get('VCPU', 0)),
                     float(a['resources'].get('MEMORY_MB', 0)))
            for uuid, a in sorted(allocs.items()) if uuid != skip_uuid]

    uuids = sorted({c.uuid for cs in by_host.values() for c in cs})
    containers = {}
    for i in range(0, len(uuids), UUIDS_PER_QUERY):
        for cnt in objects.Container.list(
                context, filters={'uuid': uuids[i:i + UUIDS_PER_QUERY]}):
            containers[cnt.uuid] = cnt
    for consumers in by_host.values():
        for c in consumers:
            c.container = containers.get(c.uuid)
    return by_host


class Picks(object):
    """This process's latest picks, until Placement shows their claims.

    Zun claims the first host of the filter's result in Placement right
    after the filter returns.  Requests of one zun-api process run
    concurrently (green threads or native threads), so another request
    could read Placement in between and miss that claim: ``guard`` makes
    reading Placement, deciding and ``add``-ing the pick one step per
    process, and ``merge`` counts the picks that Placement does not show
    yet.
    """

    def __init__(self):
        self.guard = threading.Lock()
        self._picks = {}        # uuid -> (hostname, Consumer, monotonic)

    def add(self, hostname, uuid, container):
        """Count container on hostname until Placement shows it."""
        memory = lp_request.container_field(container, 'memory')
        consumer = Consumer(uuid, 0.0, float(memory or 0), container)
        self._picks[uuid] = (hostname, consumer, time.monotonic())

    def merge(self, by_host, hostnames, skip_uuid=None):
        """Add to by_host (in place) the picks on these hosts that
        Placement does not show, but skip_uuid (the container being
        scheduled); forget the ones Placement shows and the expired ones."""
        seen = {c.uuid for cs in by_host.values() for c in cs}
        seen.discard(skip_uuid)
        now = time.monotonic()
        for uuid, (hostname, consumer, when) in list(self._picks.items()):
            if uuid in seen or now - when > PICK_TTL:
                del self._picks[uuid]
            elif hostname in hostnames and uuid != skip_uuid:
                by_host.setdefault(hostname, []).append(consumer)


#: The picks of this process.
PICKS = Picks()
