"""State shared by the plugin's filters and weigher in one scheduler.

The ``Engine`` holds the libplacement context built from ``[libplacement]``,
the caches of instances and hosts, the instances this scheduler placed, and
the agent snapshots. ``engine()`` returns the one matching the current
configuration (rebuilt when options change, e.g. between functional tests).
``guarded`` runs a decision so that no error reaches Nova: it is logged with
what the operator can do, and the ``fail_open`` behaviour applies.

Requests of class ``auto`` (docs/learn.md) take the class that the running
instances of their image (else flavor) were measured to be, from the
learner the agent fetches feed (``Engine.learned``), once it trusts an
answer; until then they are unclassified.

Nova has no hook for "this host was chosen": the plugin wraps
``HostState.consume_from_request``, the method Nova's scheduler calls on the
chosen host of every instance it places, so that the instance counts on
that host in later requests (``hoststate.Placements``), until the host
lists it or Nova's database says it is gone (``held.HeldCheck``).
"""

import functools
import itertools
import time

from oslo_log import log as logging

import nova.conf
from nova.image import glance
from nova.scheduler import host_manager

from libplacement_oslo import opts as common_opts
from nova_filter import agents
from nova_filter import held
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
# Seconds the host chosen for an instance counts it before Nova consumes
# the host (the request's claim in Placement); a request that fails
# between the two leaves its choice counting this long.
CHOICE_HOLD = 30.0
# Attribute of a RequestSpec that holds its Request, so that the filters
# and the weigher of one scheduling call (and every instance of a
# multi-create) decide with the same class even if the learner changes
# meanwhile. Nova makes a new RequestSpec object for every call.
REQUEST_ATTR = '_libplacement_request'
# Learned answers kept (one per flavor size and image); then all dropped.
LEARNED_KEPT = 4096


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
        reset()
        _current['engine'] = Engine(group)
        _current['key'] = key
    return _current['engine']


def reset():
    """Drop the current Engine: the next decision builds a new one (a new
    configuration, or a new cloud in functional tests)."""
    old = _current['engine']
    _current['engine'] = _current['key'] = None
    if old is not None:
        old.held_check.close()
        if old.snapshots is not None:
            old.snapshots.close()


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


def _consume_from_request(consume):
    """HostState.consume_from_request, also recording the placement."""

    @functools.wraps(consume)
    def consume_from_request(host_state, spec_obj):
        result = consume(host_state, spec_obj)
        eng = _current['engine']
        if eng is not None:
            try:
                eng.placed(host_state, spec_obj)
            except Exception as e:  # never fail Nova's consumption
                LOG.error('libplacement: cannot record the placement of '
                          'instance %(uuid)s on host %(host)s (%(err)s); '
                          'concurrent requests may not see it until the '
                          'compute reports it',
                          {'uuid': getattr(spec_obj, 'instance_uuid', None),
                           'host': host_state.host, 'err': e})
        return result

    consume_from_request.libplacement_wrapped = True
    return consume_from_request


def _install_placement_hook():
    cls = host_manager.HostState
    if not getattr(cls.consume_from_request, 'libplacement_wrapped', False):
        cls.consume_from_request = _consume_from_request(
            cls.consume_from_request)


def split_runtimes(value, sep):
    return [r.strip() for r in str(value).split(sep) if r.strip()]


# Nova server group policies, by what a libplacement group would do.
COLOCATE_POLICIES = ('affinity', 'soft-affinity')
SPREAD_POLICIES = ('anti-affinity', 'soft-anti-affinity')
# Classes whose groups the core co-locates / spreads.
COLOCATE_CLASSES = ('net', 'io')
SPREAD_CLASSES = ('cpu', 'mixed')


class Request(object):
    """One scheduling request as libplacement sees it.

    ``group`` is the group the core scores with (spread or co-location,
    by class); ``affinity_group`` the Nova (soft-)affinity server group
    whose member hosts the weigher must not rank below others.
    """

    __slots__ = ('lp', 'group', 'klass', 'added', 'runtime', 'allowed',
                 'affinity_group')

    def __init__(self, lp_request, klass, added, affinity_group):
        self.lp = lp_request
        self.group = lp_request['group']
        self.klass = klass
        self.added = added
        self.runtime = lp_request['runtime']
        self.allowed = lp_request['allowed_runtimes']
        self.affinity_group = affinity_group


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
        self._learned = {}
        self._images = {}
        self._chosen = {}
        self.catalog = hoststate.InstanceCatalog(self.declared_instance)
        self.placements = hoststate.Placements(float(group.scheduled_hold),
                                               CHOICE_HOLD)
        self.snapshots = self.learner = None
        if group.agent_url:
            learner = lp.Learner(
                min_instances=group.learn_min_instances,
                min_confidence=group.learn_min_confidence)
            self.snapshots = agents.AgentSnapshots(lp, group, learner)
            if self.snapshots.enabled:
                self.learner = learner
        # Seconds a learned answer is reused at most (see learned()).
        self._learned_reuse = float(group.agent_ttl) / 2.0
        self.loads = hoststate.HostLoads(
            lp, self.generation, self.catalog, self.placements,
            hoststate.RuntimeSource(lp, group), self.snapshots,
            self.learned)
        self.held_check = held.HeldCheck(self.placements,
                                         self.loads.forget_host,
                                         group.scheduled_check)
        _install_placement_hook()
        if group.agent_url:
            agents_line = '%s (agent_ttl %s s); ' % (group.agent_url,
                                                     group.agent_ttl)
            agents_line += (
                'auto requests learn classes from %d running instances '
                'with confidence %.2f' % (group.learn_min_instances,
                                          group.learn_min_confidence)
                if self.learner is not None else 'nothing learned')
        else:
            agents_line = 'none, declared demand only, nothing learned'
        LOG.info('libplacement: scheduler plugin active (libplacement '
                 '%(version)s from %(path)s); max_parallel_ratio %(ratio)s, '
                 'weight_multiplier %(mult)s, agents: %(agents)s',
                 {'version': lp.__version__, 'path': lp.__file__,
                  'ratio': group.max_parallel_ratio,
                  'mult': group.weight_multiplier, 'agents': agents_line})

    # -- requests ---------------------------------------------------------
    def _resolve(self, vcpus, workload, parallelism):
        key = (vcpus, workload, parallelism)
        found = self._resolved.get(key)
        if found is None:
            found = self.ctx.resolve({'vcpus': vcpus, 'workload': workload,
                                      'parallelism': parallelism})
            self._resolved[key] = found
        return found

    def _learn_key(self, vcpus, workload, parallelism, image, flavor_name):
        """The key Engine.learned answers a request or instance by, or
        None when its class is not learned (not auto, or no learner)."""
        if workload != 'auto' or self.learner is None or not (
                image or flavor_name):
            return None
        return (vcpus, parallelism, image, flavor_name or None)

    def learned(self, key):
        """(class, added, source) of an ``auto`` request or instance, as
        the learner resolves key = (vcpus, parallelism, image, flavor name).

        Kept per key: the learner is asked again once it has observed
        another fetch, so a changed answer applies from the next fetch on
        and each key is asked once per fetch, not per host; and at least
        every agent_ttl / 2 seconds, as its answers also age while no
        fetch completes (instances not seen for an hour drop out).
        """
        observations = self.snapshots.observations
        now = time.monotonic()
        found = self._learned.get(key)
        if found is not None and found[0] == observations and now < found[1]:
            return found[2]
        vcpus, parallelism, image, flavor_name = key
        answer = self.ctx.resolve_learned(
            {'vcpus': vcpus, 'workload': 'auto', 'parallelism': parallelism,
             'image': image, 'flavor': flavor_name}, self.learner)
        if len(self._learned) >= LEARNED_KEPT:
            self._learned.clear()
        self._learned[key] = (observations, now + self._learned_reuse,
                              answer)
        return answer

    def declared(self, vcpus, extra_specs):
        """(class, parallelism) an instance of a flavor declares."""
        workload, parallelism, _ = self._flavor_specs(extra_specs)
        klass = self._resolve(float(vcpus), workload, parallelism)[0]
        return klass, parallelism if parallelism > 0 else float(vcpus)

    def declared_instance(self, flavor, image):
        """(class, parallelism, learn key) an instance of a flavor, started
        from image (or None), declares; the learn key is None unless its
        class is learned (``learned``)."""
        klass, parallelism = self.declared(flavor.vcpus, flavor.extra_specs)
        workload, own_parallelism, _ = self._flavor_specs(flavor.extra_specs)
        return klass, parallelism, self._learn_key(
            float(flavor.vcpus), workload, own_parallelism, image,
            flavor.name)

    def placed(self, host_state, spec_obj):
        """Nova consumed host_state for the instance of spec_obj: count it
        there until the host lists it (see hoststate.Placements)."""
        self._record(host_state, spec_obj, True)
        # Later instances of the same request (multi-create) see it too.
        host_state.__dict__.pop(hoststate.MEMO_ATTR, None)

    def chosen(self, host_state, spec_obj):
        """host_state is the host Nova will pick for the instance of
        spec_obj: count it there for concurrent requests until Nova
        consumes it. The current request keeps its view (its own instance
        is not on the host yet)."""
        self._record(host_state, spec_obj, False)

    def _record(self, host_state, spec_obj, confirmed):
        uuid = spec_obj.instance_uuid
        if not uuid:
            return
        self.catalog.remember(uuid, spec_obj.flavor,
                              hoststate.spec_groups(spec_obj),
                              hoststate.spec_image(spec_obj))
        old = self.placements.add(host_state.host, uuid, host_state,
                                  confirmed)
        if old is not None and old != host_state.host:
            self.loads.forget_host(old)
        self.loads.forget_host(host_state.host)
        self.held_check.start()

    def _flavor_specs(self, extra_specs):
        es = extra_specs or {}
        workload = es.get('libplacement:workload', self.default_workload)
        parallelism = float(es.get('libplacement:parallelism', 0) or 0)
        runtime = es.get('libplacement:runtime', 'auto')
        return workload, parallelism, runtime

    def request(self, spec_obj):
        """The Request of a RequestSpec (flavor, image, hints), made once
        per RequestSpec object (REQUEST_ATTR)."""
        memo = spec_obj.__dict__.get(REQUEST_ATTR)
        if memo is not None and memo[0] == self.generation:
            return memo[1]
        flavor = spec_obj.flavor
        workload, parallelism, runtime = self._flavor_specs(
            flavor.extra_specs)
        vcpus = float(flavor.vcpus)
        req = {
            'id': flavor.name or 'request',
            'vcpus': vcpus,
            'workload': workload,
            'parallelism': parallelism,
            'runtime': runtime,
            'allowed_runtimes': self._image_runtimes(spec_obj),
        }
        image = hoststate.spec_image(spec_obj)
        learn = self._learn_key(vcpus, workload, parallelism, image,
                                flavor.name)
        if learn is None:
            klass, added = self._resolve(vcpus, workload, parallelism)
        else:
            klass, added, source = self.learned(learn)
            LOG.debug('libplacement: request %(req)s (instance %(uuid)s, '
                      'flavor %(flavor)s, image %(image)s, %(vcpus)g vCPUs, '
                      'workload auto): class %(klass)s adds %(added).2f: '
                      '%(source)s',
                      {'req': req['id'], 'uuid': spec_obj.instance_uuid,
                       'flavor': flavor.name, 'image': image, 'vcpus': vcpus,
                       'klass': klass, 'added': added, 'source': source})
            # The core decides with the learned class and demand (for cpu
            # and mixed classes added is the parallelism, which they
            # reserve anyway).
            req['workload'] = klass
            if klass != 'unknown':
                req['demand'] = added
        req['group'], affinity_group = self._groups(spec_obj, klass)
        request = Request(req, klass, added, affinity_group)
        spec_obj.__dict__[REQUEST_ATTR] = (self.generation, request)
        return request

    @staticmethod
    def _groups(spec_obj, klass):
        """(core group, affinity server group) of a request.

        The ``libplacement_group`` hint is the core's group. Without it, a
        Nova server group is, where its policy says what the core would do
        with the request's class: a spread policy for cpu and mixed
        requests, a co-location policy for net and io requests. Requests in
        a (soft-)affinity server group also name it, so that the weigher
        never ranks its member hosts below others.
        """
        group = hoststate.group_name(
            spec_obj.get_scheduler_hint('libplacement_group'))
        sg = hoststate.server_group(spec_obj)
        if sg is None or not sg.obj_attr_is_set('uuid'):
            return group, None
        policy = sg.policy if sg.obj_attr_is_set('policy') else None
        name = hoststate.server_group_name(sg)
        if group is None and (
                (policy in SPREAD_POLICIES and klass in SPREAD_CLASSES) or
                (policy in COLOCATE_POLICIES and klass in COLOCATE_CLASSES)):
            group = name
        return group, name if policy in COLOCATE_POLICIES else None

    def _image_runtimes(self, spec_obj):
        """Runtime mask the image allows (property libplacement_runtime)."""
        image_id = hoststate.spec_image(spec_obj)
        ctx = getattr(spec_obj, '_context', None)
        if image_id is None or ctx is None:
            return self.lp.RUNTIME_ALL
        now = time.monotonic()
        cached = self._images.get(image_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        mask = self.lp.RUNTIME_ALL
        try:
            props = glance.API().get(ctx, image_id).get('properties') or {}
            value = props.get('libplacement_runtime')
            if value:
                mask = self.lp.runtime_mask(split_runtimes(value, ','))
        except ValueError as e:
            LOG.error('libplacement: image %(id)s property '
                      'libplacement_runtime is invalid (%(err)s); set it to '
                      'a comma-separated list of container, unikernel, vm. '
                      'Treating the image as runnable in any runtime.',
                      {'id': image_id, 'err': e})
        except Exception as e:
            LOG.warning('libplacement: cannot read image %(id)s from Glance '
                        '(%(err)s); treating it as runnable in any runtime',
                        {'id': image_id, 'err': e})
        self._images[image_id] = (mask, now + IMAGE_TTL)
        return mask

    # -- decisions ------------------------------------------------------------
    def verdicts(self, req, host_states):
        """libplacement's Verdicts for all hosts, in one C call."""
        return self.ctx.filter_score(
            req.lp, self.loads.tuples(host_states, req.group))

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
