"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

ComputeNode (zun/objects/compute_node.py): the row zun-compute keeps for
its node and the scheduler reads on every request (``list``, optionally
filtered by ``rp_uuid``), with the fields HostState.update() copies;
``save`` writes the changed fields.  ``rp_uuid`` is the node's resource
provider in Placement (its own uuid unless shared with Nova).
"""

from oslo_versionedobjects import base
from oslo_versionedobjects import fields

from zun.common import exception
from zun.db import api as dbapi
from zun.objects import container


@container.ZunObjectRegistry.register
class ComputeNode(base.VersionedObject):
    OBJ_SERIAL_NAMESPACE = 'zun_object'
    OBJ_PROJECT_NAMESPACE = 'zun'
    VERSION = '1.14'

    fields = {
        'uuid': fields.UUIDField(nullable=True),
        'rp_uuid': fields.UUIDField(nullable=True),
        'hostname': fields.StringField(),
        'numa_topology': fields.StringField(nullable=True),
        'mem_total': fields.IntegerField(),
        'mem_free': fields.IntegerField(),
        'mem_available': fields.IntegerField(),
        'mem_used': fields.IntegerField(),
        'cpus': fields.IntegerField(),
        'cpu_used': fields.FloatField(),
        'disk_total': fields.IntegerField(),
        'disk_used': fields.IntegerField(),
        'disk_quota_supported': fields.BooleanField(),
        'labels': fields.DictOfStringsField(nullable=True),
        'pci_device_pools': fields.StringField(nullable=True),
        'runtimes': fields.ListOfStringsField(nullable=True),
        'enable_cpu_pinning': fields.BooleanField(),
        'updated_at': fields.DateTimeField(nullable=True),
    }

    @staticmethod
    def _from_db_object(node, row):
        for name in node.fields:
            setattr(node, name, row.get(name))
        node.obj_reset_changes()
        return node

    def create(self, context=None):
        self._from_db_object(self, dbapi.create_compute_node(
            self.obj_get_changes()))

    def save(self, context=None):
        dbapi.update_compute_node(self.uuid, self.obj_get_changes())
        self.obj_reset_changes()

    @classmethod
    def list(cls, context, limit=None, marker=None, sort_key=None,
             sort_dir=None, filters=None):
        return [cls._from_db_object(cls(context), row)
                for row in dbapi.list_compute_nodes(filters)]

    @classmethod
    def get_by_name(cls, context, hostname):
        rows = dbapi.list_compute_nodes({'hostname': hostname})
        if not rows:
            raise exception.ComputeNodeNotFound(compute_node=hostname)
        return cls._from_db_object(cls(context), rows[0])
