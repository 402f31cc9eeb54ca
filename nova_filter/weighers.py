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
    for all hosts in one call: headroom (free parallelism after placement)
    + co-location bonus for net/io requests whose ``libplacement_group``
    already runs there - spread penalty for cpu/mixed groups. Nova
    normalises the weights and multiplies them by ``[libplacement]
    weight_multiplier``, overridden per aggregate by the metadata key
    ``libplacement_weight_multiplier``.
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
        hosts = [w.obj for w in weighed_obj_list]
        self._multiplier = engine_mod.CONF.libplacement.weight_multiplier
        if not hosts:
            return []
        return engine_mod.guarded(
            'ParallelismWeigher',
            lambda: self._weigh(hosts, spec_obj),
            lambda fail_open: [0.0] * len(hosts),
            lambda: 'instance %s' % spec_obj.instance_uuid)

    @staticmethod
    def _weigh(hosts, spec_obj):
        eng = engine_mod.engine()
        req = eng.request(spec_obj)
        v = eng.verdicts(req, hosts)
        scores = v.scores
        if LOG.isEnabledFor(std_logging.DEBUG):
            for i, hs in enumerate(hosts):
                LOG.debug('ParallelismWeigher: host %(host)s %(line)s',
                          {'host': hs.host, 'line': v.explain(i)})
        return scores
