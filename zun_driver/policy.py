"""The libplacement policy built from zun.conf's ``[libplacement]`` group."""

from libplacement_oslo import opts as common_opts
from zun_driver import agents
from zun_driver import request as lp_request
from zun_driver import runtimes


class Policy(object):
    """libplacement context, runtime map and agent snapshots, from options.

    A libplacement Context must not be used by two threads at once: Zun
    makes a filter object (holding one Policy) per API request, and the
    driver makes a Policy per create, since creates run concurrently.
    """

    def __init__(self, group):
        """Build from the ``[libplacement]`` option group.

        :raises ValueError: naming the option that is invalid.
        """
        self.ctx = common_opts.context_from_options(group)
        self.default_workload = group.default_workload
        self.runtimes = runtimes.RuntimeMap(group.docker_runtimes)
        self.agents = agents.shared(group) if group.agent_url else None

    def deciding_class(self, request):
        """The class of a ContainerRequest when libplacement picks its runtime.

        None when the user chose a runtime, or when the class is unknown (no
        label, no metrics): then Zun's own default runtime applies.
        """
        if request.user_runtime is not None:
            return None
        klass, _added = self.ctx.resolve(request.request)
        return None if klass == 'unknown' else klass

    def container_demand(self, container):
        """The demand a stored Zun container adds to its host.

        What the filter added for it when it was scheduled: its cpu for
        cpu, mixed and unclassified containers, the class estimate for net,
        io and idle ones.  A container whose label is not valid counts its
        cpu.
        """
        try:
            request = lp_request.ContainerRequest(
                container, default_workload=self.default_workload)
        except ValueError:
            cpu = lp_request.container_field(container, 'cpu')
            return float(cpu) if cpu else 1.0
        return self.ctx.resolve(request.request)[1]

    def runtime_for(self, request, docker_runtimes):
        """Docker runtime for a request on a host offering docker_runtimes.

        :returns: the Docker runtime name, or None when libplacement does
                  not decide (see deciding_class) or nothing offered fits.
        """
        klass = self.deciding_class(request)
        if klass is None:
            return None
        chosen = self.ctx.choose_runtime(
            klass, self.runtimes.mask(docker_runtimes),
            self.runtimes.allowed_mask)
        return self.runtimes.docker_name(chosen) if chosen else None
