"""Scheduler filters: ParallelismFilter and RuntimeFilter."""

import logging as std_logging

from oslo_log import log as logging

from nova.scheduler import filters
from nova.scheduler import utils

from nova_filter import engine as engine_mod

LOG = logging.getLogger(__name__)


def _describe(spec_obj):
    return 'instance %s (flavor %s)' % (spec_obj.instance_uuid,
                                        spec_obj.flavor.name)


class _BatchFilter(filters.BaseHostFilter):
    """A filter that decides all hosts at once in ``_filter(hosts, spec)``.

    ``filter_all`` runs it under ``engine.guarded`` (errors are logged and
    ``fail_open`` applies) and skips it on rebuild unless RUN_ON_REBUILD:
    overriding filter_all bypasses BaseHostFilter._filter_one, which is
    where Nova does that check.
    """

    def filter_all(self, filter_obj_list, spec_obj):
        hosts = list(filter_obj_list)
        if not hosts or (not self.RUN_ON_REBUILD
                         and utils.request_is_rebuild(spec_obj)):
            return hosts
        return engine_mod.guarded(
            type(self).__name__,
            lambda: self._filter_and_note(hosts, spec_obj),
            lambda fail_open: hosts if fail_open else [],
            lambda: _describe(spec_obj))

    def _filter_and_note(self, hosts, spec_obj):
        passed = self._filter(hosts, spec_obj)
        if len(passed) == 1:
            # Nova weighs no single host: this is its pick (the plugin's
            # filters come last), and concurrent requests must see it
            # (engine.Engine.chosen).
            engine_mod.engine().chosen(passed[0], spec_obj)
        return passed


class ParallelismFilter(_BatchFilter):
    """Keep a host's parallel demand within its threads x max_parallel_ratio.

    All hosts are decided in one libplacement call (``filter_all``). The
    request's demand comes from its flavor (``libplacement:workload``,
    ``libplacement:parallelism``, vCPUs); the hosts' from their instances or
    agent snapshots (see nova_filter.hoststate). Runtimes are RuntimeFilter's
    job, memory is Placement's.
    """

    # A rebuild stays on its host and adds no instance.
    RUN_ON_REBUILD = False

    @staticmethod
    def _filter(hosts, spec_obj):
        eng = engine_mod.engine()
        req = eng.request(spec_obj)
        v = eng.verdicts(req, hosts)
        passes = v.passes
        if LOG.isEnabledFor(std_logging.DEBUG):
            for i, hs in enumerate(hosts):
                LOG.debug('ParallelismFilter: host %(host)s %(line)s '
                          '[request %(req)s class %(klass)s adds %(added)s]',
                          {'host': hs.host, 'line': v.explain(i),
                           'req': req.lp['id'], 'klass': req.klass,
                           'added': req.added})
        return [hs for hs, ok in zip(hosts, passes) if ok]


class RuntimeFilter(_BatchFilter):
    """The request's runtime must be one the host offers.

    The runtime is the flavor's ``libplacement:runtime``, or with ``auto``
    the policy's preference for the workload class, among the runtimes the
    image allows (image property ``libplacement_runtime``, a comma-separated
    list; all when unset). What a host offers: see
    nova_filter.hoststate.RuntimeSource.
    """

    # A rebuild may bring an image that the host cannot run.
    RUN_ON_REBUILD = True

    @staticmethod
    def _filter(hosts, spec_obj):
        eng = engine_mod.engine()
        req = eng.request(spec_obj)
        debug = LOG.isEnabledFor(std_logging.DEBUG)
        out = []
        for hs, m in zip(hosts, eng.loads.values(hosts)):
            chosen = eng.runtime_for(req, m.runtimes)
            if chosen is not None:
                out.append(hs)
            if debug:
                LOG.debug('RuntimeFilter: host %(host)s %(verdict)s: offers '
                          '%(offered)s (from %(source)s); request class '
                          '%(klass)s runtime %(rt)s, image allows %(allowed)s',
                          {'host': hs.host,
                           'verdict': ('pass: runtime %s' % chosen
                                       if chosen else 'fail runtime'),
                           'offered': _names(eng.lp, m.runtimes),
                           'source': m.runtime_source, 'klass': req.klass,
                           'rt': req.runtime,
                           'allowed': _names(eng.lp, req.allowed)})
        return out


def _names(lp, mask):
    return ','.join(n for n in lp.RUNTIMES
                    if mask & lp.runtime_mask([n])) or 'none'
