"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

Container (version 1.44 in Zun): an oslo.versionedobjects object, so that
what the plugin relies on behaves as in Zun: reading a field that was never
set raises ObjectActionError (it is not lazy-loadable); setting a field marks
it changed, and changed fields travel with the object over RPC from zun-api
(where the scheduler runs) to zun-compute and are saved there.  Only the
fields the plugin, HostState and the Docker driver read are declared.
"""

from oslo_versionedobjects import base
from oslo_versionedobjects import fields

from zun.common import exception


class ZunObjectRegistry(base.VersionedObjectRegistry):
    pass


@ZunObjectRegistry.register
class Container(base.VersionedObject):
    OBJ_SERIAL_NAMESPACE = 'zun_object'
    OBJ_PROJECT_NAMESPACE = 'zun'
    VERSION = '1.44'

    fields = {
        'id': fields.IntegerField(),
        'uuid': fields.UUIDField(nullable=True),
        'name': fields.StringField(nullable=True),
        'image': fields.StringField(nullable=True),
        'cpu': fields.FloatField(nullable=True),
        'memory': fields.StringField(nullable=True),
        'disk': fields.IntegerField(nullable=True),
        'command': fields.ListOfStringsField(nullable=True),
        'environment': fields.DictOfStringsField(nullable=True),
        'labels': fields.DictOfStringsField(nullable=True),
        'host': fields.StringField(nullable=True),
        'privileged': fields.BooleanField(nullable=True),
        'runtime': fields.StringField(nullable=True),
    }

    def create(self, context):
        """As after Zun's DB insert: every field not given is None."""
        for name in self.fields:
            if name != 'id' and not self.obj_attr_is_set(name):
                setattr(self, name, None)
        self.id = 1
        self.obj_reset_changes()

    def obj_load_attr(self, attrname):
        raise exception.ObjectActionError(
            action='obj_load_attr',
            reason='attribute %s not lazy-loadable' % attrname)
