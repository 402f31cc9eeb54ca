"""Translation between libplacement runtimes and Docker runtime names."""

import libplacement as lp


class RuntimeMap(object):
    """The ``[libplacement] docker_runtimes`` map, both ways.

    Several libplacement runtimes may share one Docker runtime (Kata serves
    both ``unikernel`` and ``vm`` by default), so a Docker runtime name maps
    back to a mask of libplacement runtimes.
    """

    def __init__(self, docker_runtimes):
        """Build from a dict libplacement runtime -> Docker runtime name.

        :raises ValueError: naming the key or value that is not valid.
        """
        self._docker = {}
        self._mask = {}
        for runtime, docker_name in sorted(docker_runtimes.items()):
            if runtime not in lp.RUNTIMES:
                raise ValueError(
                    '[libplacement] docker_runtimes: unknown libplacement '
                    'runtime %r (expected one of %s)'
                    % (runtime, ', '.join(lp.RUNTIMES)))
            if not docker_name:
                raise ValueError(
                    '[libplacement] docker_runtimes: empty Docker runtime '
                    'for %r' % runtime)
            self._docker[runtime] = docker_name
            self._mask[docker_name] = (self._mask.get(docker_name, 0) |
                                       lp.runtime_mask([runtime]))
        self.allowed_mask = lp.runtime_mask(list(self._docker))

    def docker_name(self, runtime):
        """Docker runtime name for a libplacement runtime, or None."""
        return self._docker.get(runtime)

    def mask(self, docker_names):
        """Mask of the libplacement runtimes that these Docker names offer."""
        mask = 0
        for name in docker_names or ():
            mask |= self._mask.get(name, 0)
        return mask
