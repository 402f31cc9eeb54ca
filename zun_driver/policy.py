"""The libplacement policy built from zun.conf's ``[libplacement]`` group."""

from oslo_log import log as logging

from libplacement_oslo import opts as common_opts
from zun_driver import agents
from zun_driver import request as lp_request
from zun_driver import runtimes

LOG = logging.getLogger(__name__)

#: Classes whose demand is what they were measured (or learned) to use;
#: the others reserve their full parallelism (docs/policy.md).
MEASURED_DEMAND_CLASSES = ('net', 'io', 'idle')


class Policy(object):
    """libplacement context, runtime map and agent snapshots, from options.

    A libplacement Context must not be used by two threads at once: Zun
    makes a filter object (holding one Policy) per API request, and the
    driver makes a Policy per create, since creates run concurrently.  The
    agent snapshots and the learner fed by them are per process.
    """

    def __init__(self, group):
        """Build from the ``[libplacement]`` option group.

        :raises ValueError: naming the option that is invalid.
        """
        self.ctx = common_opts.context_from_options(group)
        self.default_workload = group.default_workload
        self.min_confidence = group.learn_min_confidence
        self.runtimes = runtimes.RuntimeMap(group.docker_runtimes)
        self.agents = agents.shared(group) if group.agent_url else None

    def resolve(self, request):
        """(class, request dict for the core, source) of a ContainerRequest.

        A container of class ``auto`` takes the class its image (then its
        flavor label) was learned to have from the running containers the
        agents measured, once the learner trusts it (docs/learn.md); for
        net, io and idle classes the request also carries the demand that
        class adds.  Without agents, or until the learner trusts an
        answer, it stays ``unknown``.  ``source`` says where the class came
        from (the learner's line, logged at debug level), or is None when
        nothing was learned (a class given by label or option, or no
        agents).
        """
        req = dict(request.request)
        learner = self.agents.learner if self.agents is not None else None
        if req['workload'] != 'auto' or learner is None:
            return self.ctx.resolve(req)[0], req, None
        klass, added, source = self.ctx.resolve_learned(req, learner)
        LOG.debug('libplacement: container %s (image %s, flavor %s): %s',
                  req['id'], req['image'], req['flavor'], source)
        if klass != 'unknown':
            req['workload'] = klass
            if klass in MEASURED_DEMAND_CLASSES:
                req['demand'] = added
        return klass, req, source

    def container_demand(self, container):
        """The demand a stored Zun container adds to its host.

        What the filter added for it when it was scheduled: its cpu for
        cpu, mixed and unclassified containers, the class estimate (or
        learned demand) for net, io and idle ones.  A container whose
        label is not valid counts its cpu.
        """
        try:
            request = lp_request.ContainerRequest(
                container, default_workload=self.default_workload)
        except ValueError:
            cpu = lp_request.container_field(container, 'cpu')
            return float(cpu) if cpu else 1.0
        _klass, req, _source = self.resolve(request)
        return self.ctx.resolve(req)[1]

    def measured_class(self, host, workload_id):
        """(class, why) of a running container as its host's agent measured
        it, or (None, why) when it is not measured with at least
        ``learn_min_confidence``.

        Reads the host's agent now (at most ``agent_timeout``): used on a
        rebuild, which re-decides the runtime of what runs.
        """
        if self.agents is None:
            return None, 'no agent_url: nothing measured'
        self.agents.fetch_now([host])
        snap = self.agents.get(host)
        if snap is None:
            return None, 'no fresh snapshot from the agent of %s' % host
        klass, confidence = snap.classes.get(workload_id, (None, 0.0))
        if klass is None:
            return None, 'the agent of %s does not list %s' % (host,
                                                               workload_id)
        why = ('class %s measured on %s, confidence %.2f'
               % (klass, host, confidence))
        if klass == 'unknown' or confidence < self.min_confidence:
            return None, '%s (needs %.2f)' % (why, self.min_confidence)
        return klass, why

    def runtime_for(self, klass, docker_runtimes):
        """Docker runtime for a class on a host offering docker_runtimes,
        or None when nothing offered fits (or the class is unknown)."""
        if klass == 'unknown':
            return None
        chosen = self.ctx.choose_runtime(
            klass, self.runtimes.mask(docker_runtimes),
            self.runtimes.allowed_mask)
        return self.runtimes.docker_name(chosen) if chosen else None
