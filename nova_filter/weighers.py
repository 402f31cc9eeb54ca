"""Scheduler weigher: ParallelismWeigher."""

import logging as std_logging

from oslo_log import log as logging

from nova.scheduler import utils
from nova.scheduler import weights

from nova_filter import engine as engine_mod

LOG = logging.getLogger(__name__)

AGGREGATE_KEY = 'libplacement_weight_multiplier'


class ParallelismWeigher(weights.BaseHostWeigher):
    """Prefer headroom for parallel work; co-locate or spread groups.

    Raw weight = libplacement's score of the host for the request, computed
    for all hosts in one call: headroom (free parallelism after placement,
    as a fraction of the cap, times ``weight_headroom``) + ``weight_colocate``
    for net/io requests whose group already runs there - the spread penalty
    for cpu/mixed groups (at most ``weight_spread``).

    Nova normalises each weigher's raw weights to 0..1 between ``minval``
    and ``maxval``, or between the lowest and highest weight when they are
    unset, which turns any difference, however small, into a full 1.0 lead.
    This weigher sets them to the score's fixed range, ``-weight_spread`` to
    ``weight_headroom + weight_colocate``, so a small difference in headroom
    stays small. Nova then multiplies by ``[libplacement]
    weight_multiplier``, overridden per aggregate by the metadata key
    ``libplacement_weight_multiplier``.

    Requests in a Nova affinity or soft-affinity server group: hosts that
    already run members of the group get at least the best weight of all
    hosts, so the weigher never pushes against the policy.

    List it last in ``weight_classes``: it also works out which host Nova
    will pick (the others' weights plus its own), so that requests running
    at the same time count the instance there before Nova claims it.
    """

    def __init__(self):
        super().__init__()
        # [libplacement] weight_multiplier, read once per weighing: Nova
        # asks for the multiplier of every host after weigh_objects.
        self._multiplier = None

    def weight_multiplier(self, host_state):
        default = self._multiplier
        if default is None:
            default = self._multiplier = (
                engine_mod.CONF.libplacement.weight_multiplier)
        if not host_state.aggregates:
            return default
        # Nova's own aggregate lookup (lowest value wins) only for hosts in
        # aggregates.
        return utils.get_weight_multiplier(host_state, AGGREGATE_KEY, default)

    def _weigh_object(self, host_state, weight_properties):
        # weigh_objects weighs all hosts at once; kept for the base class.
        return self.weigh_objects([weights.WeighedHost(host_state, 0.0)],
                                  weight_properties)[0]

    def weigh_objects(self, weighed_obj_list, spec_obj):
        weighed = list(weighed_obj_list)
        hosts = [w.obj for w in weighed]
        conf = engine_mod.CONF.libplacement
        self._multiplier = conf.weight_multiplier
        self.minval = -conf.weight_spread
        self.maxval = conf.weight_headroom + conf.weight_colocate
        if self.maxval <= self.minval:
            # All weights zero: nothing to prefer.
            self.maxval = self.minval + 1.0
        if not hosts:
            return []
        return engine_mod.guarded(
            'ParallelismWeigher',
            lambda: self._weigh(weighed, hosts, spec_obj),
            lambda fail_open: [0.0] * len(hosts),
            lambda: 'instance %s' % spec_obj.instance_uuid)

    def _weigh(self, weighed, hosts, spec_obj):
        eng = engine_mod.engine()
        req = eng.request(spec_obj)
        v = eng.verdicts(req, hosts)
        lo, hi = self.minval, self.maxval
        scores = v.scores
        if scores and (min(scores) < lo or max(scores) > hi):
            scores = [min(hi, max(lo, s)) for s in scores]
        if req.affinity_group is not None:
            scores = _with_affinity(scores, eng.loads.values(hosts),
                                    req.affinity_group)
        eng.chosen(hosts[self._pick(weighed, hosts, scores)], spec_obj)
        if LOG.isEnabledFor(std_logging.DEBUG):
            for i, hs in enumerate(hosts):
                LOG.debug('ParallelismWeigher: host %(host)s %(line)s',
                          {'host': hs.host, 'line': v.explain(i)})
        return scores


    def _pick(self, weighed, hosts, scores):
        """Index of the host Nova will pick: the highest total weight, the
        first of equals (Nova sorts stably). Nova has added the weighers
        before this one to each WeighedHost's weight; this one adds its
        normalised score times its multiplier (weight_classes lists it
        last)."""
        lo, span = self.minval, self.maxval - self.minval
        if any(hs.aggregates for hs in hosts):
            totals = [w.weight + self.weight_multiplier(hs) * (s - lo) / span
                      for w, hs, s in zip(weighed, hosts, scores)]
        else:
            # One multiplier: the same order as the normalised weights.
            k = self._multiplier / span
            totals = [w.weight + k * s for w, s in zip(weighed, scores)]
        return max(range(len(totals)), key=totals.__getitem__)


def _with_affinity(scores, values, group):
    """Hosts running members of group get at least the best score."""
    best = max(scores)
    return [best if group in hv.groups else s
            for s, hv in zip(scores, values)]
