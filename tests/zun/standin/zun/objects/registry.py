"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

Registry (zun/objects/registry.py): a private image registry a container
pulls from (its ``domain``), referenced by the container's registry_id.
"""

from oslo_versionedobjects import base
from oslo_versionedobjects import fields

from zun.db import api as dbapi


@base.VersionedObjectRegistry.register
class Registry(base.VersionedObject):
    OBJ_SERIAL_NAMESPACE = 'zun_object'
    OBJ_PROJECT_NAMESPACE = 'zun'
    VERSION = '1.1'

    fields = {
        'id': fields.IntegerField(),
        'uuid': fields.UUIDField(nullable=True),
        'name': fields.StringField(nullable=True),
        'domain': fields.StringField(nullable=False),
    }

    @staticmethod
    def _from_db_object(registry, row):
        for name in registry.fields:
            setattr(registry, name, row.get(name))
        registry.obj_reset_changes()
        return registry

    def create(self, context=None):
        self._from_db_object(self, dbapi.create_registry(
            self.obj_get_changes()))

    @classmethod
    def get_by_id(cls, context, id):
        [row] = dbapi.list_registries({'id': id})
        return cls._from_db_object(cls(context), row)
