"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

Container (version 1.44 in Zun, zun/objects/container.py): an
oslo.versionedobjects object, so that what the plugin relies on behaves as
in Zun: reading a field that was never set raises ObjectActionError (it is
not lazy-loadable); setting a field marks it changed, and changed fields
travel with the object over RPC from zun-api (where the scheduler runs) to
zun-compute and are saved there.  ``create`` (ContainerBase.create) inserts
the row and reads it back, so every field not given is None; ``save``
writes the changed fields; ``list``, ``list_by_host`` and ``get_by_uuid``
read rows (Connection.list_containers filters: name, host, uuid, status,
... one value or a list).  ``registry`` is loaded on first read from
``registry_id`` (Zun's CONTAINER_OPTIONAL_ATTRS, _load_registry); every
other unset field raises.  Only the fields the plugin, the scheduler, the
compute claim and the Docker driver read are declared.
"""

from oslo_versionedobjects import base
from oslo_versionedobjects import fields

from zun.common import exception
from zun.db import api as dbapi
from zun.objects import registry as registry_obj


class ZunObjectRegistry(base.VersionedObjectRegistry):
    pass


@ZunObjectRegistry.register
class Container(base.VersionedObject):
    OBJ_SERIAL_NAMESPACE = 'zun_object'
    OBJ_PROJECT_NAMESPACE = 'zun'
    VERSION = '1.44'

    fields = {
        'id': fields.IntegerField(),
        'container_id': fields.StringField(nullable=True),
        'uuid': fields.UUIDField(nullable=True),
        'name': fields.StringField(nullable=True),
        'project_id': fields.StringField(nullable=True),
        'user_id': fields.StringField(nullable=True),
        'image': fields.StringField(nullable=True),
        'image_driver': fields.StringField(nullable=True),
        'cpu': fields.FloatField(nullable=True),
        'memory': fields.StringField(nullable=True),
        'disk': fields.IntegerField(nullable=True),
        'command': fields.ListOfStringsField(nullable=True),
        'status': fields.StringField(nullable=True),
        'status_reason': fields.StringField(nullable=True),
        'task_state': fields.StringField(nullable=True),
        'environment': fields.DictOfStringsField(nullable=True),
        'labels': fields.DictOfStringsField(nullable=True),
        'host': fields.StringField(nullable=True),
        'privileged': fields.BooleanField(nullable=True),
        'runtime': fields.StringField(nullable=True),
        'registry_id': fields.IntegerField(nullable=True),
        'registry': fields.ObjectField('Registry', nullable=True),
    }

    #: Fields not read from the row (Zun: CONTAINER_OPTIONAL_ATTRS).
    OPTIONAL = ('registry',)

    @staticmethod
    def _from_db_object(container, row):
        for name in container.fields:
            if name not in Container.OPTIONAL:
                setattr(container, name, row.get(name))
        container.obj_reset_changes()
        return container

    def _row_changes(self):
        changes = self.obj_get_changes()
        for name in self.OPTIONAL:
            changes.pop(name, None)
        return changes

    def create(self, context=None):
        """Insert the row; every field not given reads None after."""
        self._from_db_object(self, dbapi.create_container(
            self._row_changes()))

    def save(self, context=None):
        """Write the changed fields (Zun: update_container)."""
        dbapi.update_container(self.uuid, self._row_changes())
        self.obj_reset_changes()

    @classmethod
    def list(cls, context, limit=None, marker=None, sort_key=None,
             sort_dir=None, filters=None):
        return [cls._from_db_object(cls(context), row)
                for row in dbapi.list_containers(filters)]

    @classmethod
    def list_by_host(cls, context, host):
        return cls.list(context, filters={'host': host})

    @classmethod
    def get_by_uuid(cls, context, uuid):
        [row] = dbapi.list_containers({'uuid': uuid})
        return cls._from_db_object(cls(context), row)

    def obj_load_attr(self, attrname):
        if attrname == 'registry':
            self.registry = (
                registry_obj.Registry.get_by_id(self._context,
                                                self.registry_id)
                if self.registry_id else None)
            self.obj_reset_changes(['registry'])
            return
        raise exception.ObjectActionError(
            action='obj_load_attr',
            reason='attribute %s not lazy-loadable' % attrname)
