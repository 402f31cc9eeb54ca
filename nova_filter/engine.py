"""State shared by the plugin's filters and weigher in one scheduler.

The ``Engine`` holds the libplacement context built from ``[libplacement]``,
the caches of instances and hosts, and the agent snapshots. ``engine()``
returns the one matching the current configuration (rebuilt when options
change, e.g. between functional tests). ``guarded`` runs a decision so that
no error reaches Nova: it is logged with what the operator can do, and the
``fail_open`` behaviour applies.
"""

import itertools
import time

from oslo_log import log as logging

import nova.conf
from nova.image import glance

from libplacement_oslo import opts as common_opts
from nova_filter import agents
from nova_filter import hoststate
from nova_filter import opts

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF
opts.register_opts(CONF)

_generations = itertools.count(1)
_current = {'key': None, 'engine': None}

# Seconds an image's libplacement_runtime property is reused before it is
# read from Glance again.
IMAGE_TTL = 300.0


def _config_key(group):
    return tuple((o.name, repr(getattr(group, o.name))) for o in opts.OPTS)


def engine():
    """The Engine for the current [libplacement] options.

    Raises whatever building it raises (no libplacement module, a policy
    value the core refuses); callers run under ``guarded``.
    """
    group = CONF.libplacement
    key = _config_key(group)
    if _current['key'] != key or _current['engine'] is None:
        _current['engine'] = None
        _current['engine'] = Engine(group)
        _current['key'] = key
    return _current['engine']


def guarded(who, decide, fallback, describe):
    """Run decide(); on any error log it and return fallback(fail_open).

    describe() names the request in the log line.
    """
    try:
        return decide()
    except Exception as e:
        fail_open = CONF.libplacement.fail_open
        try:
            what = describe()
        except Exception:
            what = 'a request'
        LOG.error('libplacement: %(who)s could not decide for %(what)s: '
                  '%(etype)s: %(err)s. %(action)s Check the [libplacement] '
                  'options and that the libplacement module is installed '
                  'and matches this plugin.',
                  {'who': who, 'what': what, 'etype': type(e).__name__,
                   'err': e,
                   'action': ('Passing all hosts (fail_open=True).'
                              if fail_open else
                              'Refusing all hosts (fail_open=False).')})
        LOG.debug('libplacement: traceback of the error above',
                  exc_info=True)
        return fallback(fail_open)


def split_runtimes(value, sep):
    return [r.strip() for r in str(value).split(sep) if r.strip()]


class Request(object):
    """One scheduling request as libplacement sees it."""

    __slots__ = ('lp', 'group', 'klass', 'added', 'runtime', 'allowed')

    def __init__(self, lp_request, klass, added):
        self.lp = lp_request
        self.group = lp_request['group']
        self.klass = klass
        self.added = added
        self.runtime = lp_request['runtime']
        self.allowed = lp_request['allowed_runtimes']


class Engine(object):
    """libplacement context, caches and request reading for one config."""

    def __init__(self, group):
        import libplacement as lp  # deferred: errors go through guarded()

        self.lp = lp
        self.generation = next(_generations)
        self.ctx = common_opts.context_from_options(group, opts.CORE_PARAMS)
        self.default_workload = group.default_workload
        self.multiplier = group.weight_multiplier
        self._resolved = {}
        self._images = {}
        self._chosen = {}
        self.catalog = hoststate.InstanceCatalog(self.instance_demand)
        self.snapshots = (agents.AgentSnapshots(lp, group)
                          if group.agent_url else None)
        self.loads = hoststate.HostLoads(
            self.generation, self.catalog, hoststate.RuntimeSource(lp, group),
            lp.RUNTIME_ALL, self.snapshots)

    # -- requests ---------------------------------------------------------
    def _resolve(self, vcpus, workload, parallelism):
        key = (vcpus, workload, parallelism)
        found = self._resolved.get(key)
        if found is None:
            found = self.ctx.resolve({'vcpus': vcpus, 'workload': workload,
                                      'parallelism': parallelism})
            self._resolved[key] = found
        return found

    def instance_demand(self, vcpus, extra_specs):
        """Demand one instance of a flavor reserves (declared)."""
        workload, parallelism, _ = self._flavor_specs(extra_specs)
        return self._resolve(float(vcpus), workload, parallelism)[1]

    def _flavor_specs(self, extra_specs):
        es = extra_specs or {}
        workload = es.get('libplacement:workload', self.default_workload)
        parallelism = float(es.get('libplacement:parallelism', 0) or 0)
        runtime = es.get('libplacement:runtime', 'auto')
        return workload, parallelism, runtime

    def request(self, spec_obj):
        """The Request of a RequestSpec (flavor, image, hints)."""
        flavor = spec_obj.flavor
        workload, parallelism, runtime = self._flavor_specs(
            flavor.extra_specs)
        vcpus = float(flavor.vcpus)
        klass, added = self._resolve(vcpus, workload, parallelism)
        req = {
            'id': flavor.name or 'request',
            'vcpus': vcpus,
            'workload': workload,
            'parallelism': parallelism,
            'runtime': runtime,
            'allowed_runtimes': self._image_runtimes(spec_obj),
            'group': hoststate.group_name(
                spec_obj.get_scheduler_hint('libplacement_group')),
        }
        return Request(req, klass, added)

    def _image_runtimes(self, spec_obj):
        """Runtime mask the image allows (property libplacement_runtime)."""
        image = spec_obj.image if spec_obj.obj_attr_is_set('image') else None
        ctx = getattr(spec_obj, '_context', None)
        if image is None or ctx is None or not image.obj_attr_is_set('id') \
                or not image.id:
            return self.lp.RUNTIME_ALL
        now = time.monotonic()
        cached = self._images.get(image.id)
        if cached is not None and cached[1] > now:
            return cached[0]
        mask = self.lp.RUNTIME_ALL
        try:
            props = glance.API().get(ctx, image.id).get('properties') or {}
            value = props.get('libplacement_runtime')
            if value:
                mask = self.lp.runtime_mask(split_runtimes(value, ','))
        except ValueError as e:
            LOG.error('libplacement: image %(id)s property '
                      'libplacement_runtime is invalid (%(err)s); set it to '
                      'a comma-separated list of container, unikernel, vm. '
                      'Treating the image as runnable in any runtime.',
                      {'id': image.id, 'err': e})
        except Exception as e:
            LOG.warning('libplacement: cannot read image %(id)s from Glance '
                        '(%(err)s); treating it as runnable in any runtime',
                        {'id': image.id, 'err': e})
        self._images[image.id] = (mask, now + IMAGE_TTL)
        return mask

    # -- decisions ------------------------------------------------------------
    def verdicts(self, req, host_states):
        """libplacement's Verdicts for all hosts, in one C call."""
        return self.ctx.filter_score(
            req.lp, self.loads.tuples(host_states, req.added, req.group))

    def runtime_for(self, req, host_mask):
        """Runtime the request would run in on a host offering host_mask.

        An explicit runtime (flavor libplacement:runtime) is used as is when
        the host and image offer it; ``auto`` takes the policy's preference
        order for the request's class.
        """
        key = (req.klass, req.runtime, host_mask, req.allowed)
        chosen = self._chosen.get(key, False)
        if chosen is False:
            if req.runtime == 'auto':
                chosen = self.ctx.choose_runtime(req.klass, host_mask,
                                                 req.allowed)
            else:
                want = self.lp.runtime_mask([req.runtime])
                chosen = (req.runtime if want & host_mask & req.allowed
                          else None)
            self._chosen[key] = chosen
        return chosen
