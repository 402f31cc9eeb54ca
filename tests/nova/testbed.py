"""The research testbed for in-process Nova clouds (tests, demo, benchmark).

Each compute host has 8 hardware threads (4 cores x 2) and 16 GB, like the
hosts the placement rules were measured on. Nova loads compute drivers only
from its own ``nova.virt`` package, so the fixture sets the size of Nova's
``fake.MediumFakeDriver`` for its lifetime; use it with
``compute_driver = fake.MediumFakeDriver``. Not for production.
"""

import os

import fixtures

from nova.virt import fake

COMPUTE_DRIVER = 'fake.MediumFakeDriver'
# Debian's nova-common installs api-paste.ini into /etc/nova (from its copy
# in /usr/share/nova-common); Nova's fixtures look next to the source tree.
API_PASTE = next((p for p in ('/etc/nova/api-paste.ini',
                              '/usr/share/nova-common/api-paste.ini')
                  if os.path.exists(p)), '/etc/nova/api-paste.ini')
THREADS = 8
MEMORY_MB = 16384


class TestbedHostsFixture(fixtures.Fixture):
    """fake.MediumFakeDriver hosts report 8 threads and 16 GB."""

    def _setUp(self):
        for attr, value in (('vcpus', THREADS), ('memory_mb', MEMORY_MB)):
            self.useFixture(fixtures.MockPatchObject(
                fake.MediumFakeDriver, attr, value))
