"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

ZunService (zun/objects/zun_service.py): one row per running service; the
scheduler keeps only compute nodes whose host has a ``zun-compute`` row
(FilterScheduler._get_services_by_host).
"""

from oslo_versionedobjects import base
from oslo_versionedobjects import fields

from zun.db import api as dbapi
from zun.objects import container


@container.ZunObjectRegistry.register
class ZunService(base.VersionedObject):
    OBJ_SERIAL_NAMESPACE = 'zun_object'
    OBJ_PROJECT_NAMESPACE = 'zun'
    VERSION = '1.2'

    fields = {
        'id': fields.IntegerField(),
        'host': fields.StringField(),
        'binary': fields.StringField(),
        'disabled': fields.BooleanField(),
    }

    def create(self, context=None):
        row = dbapi.create_zun_service(self.obj_get_changes())
        for name in self.fields:
            setattr(self, name, row.get(name))
        self.obj_reset_changes()

    @classmethod
    def list_by_binary(cls, context, binary):
        out = []
        for row in dbapi.list_zun_services({'binary': binary}):
            service = cls(context)
            for name in cls.fields:
                setattr(service, name, row.get(name))
            service.obj_reset_changes()
            out.append(service)
        return out
