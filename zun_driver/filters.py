"""Zun scheduler filter: parallelism cap, best-first order, runtime choice.

Enable it in zun.conf (docs/zun.md), last in enabled_filters::

    [scheduler]
    available_filters = zun.scheduler.filters.all_filters
    available_filters = zun_driver.filters.LibplacementFilter
    enabled_filters = ComputeFilter,RuntimeFilter,LibplacementFilter
"""

from oslo_log import log as logging
import zun.conf
from zun.scheduler import filters

from zun_driver import consumers as lp_consumers
from zun_driver import loads as lp_loads
from zun_driver import opts
from zun_driver import policy as lp_policy
from zun_driver import request as lp_request

CONF = zun.conf.CONF
opts.register_opts(CONF)
LOG = logging.getLogger(__name__)


class LibplacementFilter(filters.BaseHostFilter):
    """Keep hosts within physical parallelism; return them best-first.

    A host passes when the container's demand (its cpu for cpu-class and
    unclassified work, its estimated demand for net/io work) keeps the
    host's demand within its logical CPUs x ``max_parallel_ratio``, its
    memory fits and it offers the chosen runtime.  The host's demand is
    what Zun's database says (``cpu_used``) or, with ``agent_url`` set, a
    fresh agent snapshot (loaded in the background, never waited for),
    plus what Placement holds against the node beyond that: containers
    other requests (of any zun-api process) placed there that zun-compute
    has not claimed yet.  That keeps the cap under bursts of creates.  Zun has no weighers and
    claims the first host it can, so ``filter_all`` returns the passing
    hosts ordered by libplacement's score, best first; list this filter
    last in ``enabled_filters`` so that no later filter sees an order it
    would not keep.

    The group of a container (scheduler hint ``libplacement_group``, or
    label ``libplacement.group``) is saved as its label at once, so that
    later requests count it as a member on its node.

    A container without the label ``libplacement.workload`` (with
    ``default_workload = auto``) takes the class its image was learned to
    have from the running containers the agents measured, once
    ``learn_min_instances`` of them agree with ``learn_min_confidence``
    (docs/learn.md); until then it is unclassified.

    When the container has no runtime and its class is known (label or
    learned), the runtime the best host would use is recorded on the
    container (``container.runtime``, a Docker runtime name from
    ``[libplacement] docker_runtimes``, marked by the label
    ``libplacement.runtime``) and only hosts offering it are returned.  A
    runtime chosen by the user is never changed.

    Errors never reach Zun: they are logged, then every host passes
    (``fail_open = True``, the default) or none does.
    """

    def __init__(self):
        super(LibplacementFilter, self).__init__()
        self._policy = None

    def host_passes(self, host_state, container, extra_spec):
        """Single-host form of filter_all (Zun's contract for filters)."""
        return bool(self.filter_all([host_state], container, extra_spec))

    def filter_all(self, filter_obj_list, container, extra_spec):
        """The hosts that pass, best first (a list)."""
        hosts = list(filter_obj_list)
        if not hosts:
            return hosts
        try:
            return self._rank(hosts, container, extra_spec)
        except Exception:
            fail_open = CONF.libplacement.fail_open
            LOG.exception('libplacement filter failed for container %s; '
                          '%s', lp_request.container_field(container, 'uuid'),
                          'passing all hosts' if fail_open
                          else 'passing no host')
            return hosts if fail_open else []

    def _get_policy(self):
        # Built on first use, so that a bad option is reported through the
        # fail-open/closed path instead of breaking Zun's scheduler start.
        if self._policy is None:
            self._policy = lp_policy.Policy(CONF.libplacement)
        return self._policy

    def _rank(self, hosts, container, extra_spec):
        policy = self._get_policy()
        request = lp_request.ContainerRequest(container, extra_spec,
                                              policy.default_workload)
        klass, req, _source = policy.resolve(request)
        decides = request.user_runtime is None and klass != 'unknown'
        if decides:
            req['allowed_runtimes'] = policy.runtimes.allowed_mask
        if request.group is not None:
            lp_request.record_group(container, request.group)
        if policy.agents is not None:
            policy.agents.want([h.hostname for h in hosts])
        masks = lp_loads.runtime_masks(hosts, policy.runtimes, decides)
        uuid = lp_request.container_field(container, 'uuid')
        picks = lp_consumers.PICKS
        with picks.guard:
            consumers = lp_consumers.node_consumers(hosts, uuid)
            picks.merge(consumers, {h.hostname for h in hosts}, uuid)
            loads = lp_loads.HostLoads(
                policy.agents, consumers, policy.container_demand).loads(
                    hosts, request.group, masks)
            chosen = self._verdicts(policy, req, hosts, loads)
            if chosen and uuid:
                picks.add(chosen[0][0].hostname, uuid, container)

        if decides and chosen:
            runtime = chosen[0][1]
            chosen = [c for c in chosen if c[1] == runtime]
            lp_request.record_runtime(container,
                                      policy.runtimes.docker_name(runtime))
            LOG.debug('libplacement: container %s (%s) gets runtime %s',
                      request.request['id'], klass, container.runtime)
        return [host for host, _runtime in chosen]

    @staticmethod
    def _verdicts(policy, req, hosts, loads):
        """[(host, runtime)] of the passing hosts, best first."""
        # A host that reports no CPUs yet cannot be judged: refuse it
        # rather than let it fail the whole batch.
        judged = [i for i, load in enumerate(loads) if load[0] > 0]
        for i in sorted(set(range(len(hosts))) - set(judged)):
            LOG.debug('libplacement: %s fails: reports no CPUs',
                      hosts[i].hostname)
        verdicts = policy.ctx.filter_score(req, [loads[i] for i in judged])
        passing = []
        for k, i in enumerate(judged):
            LOG.debug('libplacement: %s %s', hosts[i].hostname,
                      verdicts.explain(k))
            if verdicts.passes[k]:
                passing.append(k)
        # Best first; sorted() is stable, so ties keep Zun's order.
        passing.sort(key=lambda k: -verdicts.scores[k])
        return [(hosts[judged[k]], verdicts.runtimes[k]) for k in passing]


def all_filters():
    """The filter classes of this package, for ``available_filters``."""
    return [LibplacementFilter]
