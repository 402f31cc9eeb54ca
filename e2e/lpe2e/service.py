"""Run one Nova service as its console script would.

``python3 -m lpe2e.service conductor|scheduler|compute --config-file ...``
calls ``nova.cmd.<service>.main()`` with ``nova-<service>`` as the program
name: what /usr/bin/nova-conductor etc. of Debian's nova-* packages do
(python3-nova holds the code; those packages add only the wrapper and init
scripts).

For ``compute``, Nova's fake driver (``compute_driver =
fake.MediumFakeDriver``) gets the size of the research testbed's hosts, 8
hardware threads and 16 GB, as tests/nova's fixture sets it: Nova loads
drivers only from its own ``nova.virt`` package, so the size is set on the
class before the service starts.
"""

import importlib
import sys

import nova.cmd  # noqa: F401  (eventlet's monkey patching comes first)

from lpe2e.hosts import THREADS

SERVICES = ('conductor', 'scheduler', 'compute')
MEMORY_MB = 16384


def main(argv):
    if not argv or argv[0] not in SERVICES:
        sys.exit('usage: python3 -m lpe2e.service %s [nova options]'
                 % '|'.join(SERVICES))
    name = argv[0]
    if name == 'compute':
        from nova.virt import fake
        fake.MediumFakeDriver.vcpus = THREADS
        fake.MediumFakeDriver.memory_mb = MEMORY_MB
    module = importlib.import_module('nova.cmd.' + name)
    sys.argv = ['nova-' + name] + argv[1:]
    return module.main()


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
