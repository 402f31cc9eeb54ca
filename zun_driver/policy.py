"""The libplacement policy built from zun.conf's ``[libplacement]`` group."""

import threading

import libplacement as lp

from libplacement_oslo import opts as common_opts
from zun_driver import runtimes

# Zun builds new scheduler filters for every API request, so the agents'
# snapshots (cached for agent_ttl seconds) are kept per process here,
# one fetcher per set of agent options.
_FETCHERS = {}
_FETCHERS_LOCK = threading.Lock()


class SharedFetcher(object):
    """A libplacement Fetcher that several threads may use (one at a time)."""

    def __init__(self, fetcher):
        self._fetcher = fetcher
        self._lock = threading.Lock()

    def fetch(self, hosts):
        """(fresh Cluster, {host: error}) for these host names."""
        with self._lock:
            return self._fetcher.fetch(hosts)


def shared_fetcher(group):
    """The process's fetcher for the agent options of ``group``."""
    key = (group.agent_url, group.agent_timeout, group.agent_ttl,
           group.agent_token)
    with _FETCHERS_LOCK:
        fetcher = _FETCHERS.get(key)
        if fetcher is None:
            fetcher = _FETCHERS[key] = SharedFetcher(lp.Fetcher(
                url_template=group.agent_url,
                timeout_ms=int(group.agent_timeout * 1000),
                ttl_s=group.agent_ttl,
                token=group.agent_token))
        return fetcher


class Policy(object):
    """libplacement context, runtime map and agent fetcher, from options.

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
        self.fetcher = shared_fetcher(group) if group.agent_url else None

    def deciding_class(self, request):
        """The class of a ContainerRequest when libplacement picks its runtime.

        None when the user chose a runtime, or when the class is unknown (no
        label, no metrics): then Zun's own default runtime applies.
        """
        if request.user_runtime is not None:
            return None
        klass, _added = self.ctx.resolve(request.request)
        return None if klass == 'unknown' else klass

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
