"""Compute models built in code with Watcher's own element classes (the
Debian package ships no scenario files), and the numbers tests check them
against.
"""

import itertools
import uuid as uuidlib

from watcher.decision_engine.model import element
from watcher.decision_engine.model import model_root

PROJECT = 'b5d2e3f4-0a1b-4c2d-8e3f-405162738495'
_names = itertools.count()


def uuid(label):
    """A stable UUID for a test label (readable failures, no randomness)."""
    return str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, 'libplacement/' + label))


class Cloud(object):
    """A ModelRoot being built: nodes and the instances on them."""

    def __init__(self):
        self.model = model_root.ModelRoot()
        self.nodes = {}

    def node(self, hostname, vcpus=8, memory=16384, status='enabled',
             state='up'):
        node = element.ComputeNode(
            uuid=uuid('node-' + hostname), hostname=hostname, vcpus=vcpus,
            vcpu_reserved=0, vcpu_ratio=16.0, memory=memory,
            memory_mb_reserved=512, memory_ratio=1.0, disk=500,
            disk_gb_reserved=0, disk_ratio=1.0, status=status, state=state,
            disabled_reason=None)
        self.model.add_node(node)
        self.nodes[hostname] = node
        return node

    def instance(self, hostname, label, vcpus=2, memory=2048, state='active',
                 locked=False, metadata=None):
        inst = element.Instance(
            uuid=uuid(label), name=label, state=state, memory=memory,
            disk=10, vcpus=vcpus, metadata=dict(metadata or {}),
            project_id=PROJECT, locked=locked, watcher_exclude=False)
        self.model.add_instance(inst)
        self.model.map_instance(inst, self.nodes[hostname])
        return inst

    def hosts_of(self, labels):
        """{label: hostname} of instances by label."""
        return {label: self.model.get_node_by_instance_uuid(
            uuid(label)).hostname for label in labels}
