"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

SchedulerReportClient (zun/scheduler/client/report.py): Zun's HTTP client
of the Placement API, a keystoneauth Adapter built from the
``[keystone_auth]`` options (zun/common/clients.py placement(),
zun/common/keystone.py), every call with a microversion.  Mirrored:
get/put/post/delete, get_allocation_candidates (GET /allocation_candidates
at 1.31), claim_resources (PUT /allocations/{consumer} at the candidates'
version, a new consumer: consumer_generation None; False on a conflict),
get_allocations_for_resource_provider (GET
/resource_providers/{uuid}/allocations, ProviderAllocInfo),
delete_allocation_for_container, and the provider and inventory calls
zun-compute makes (_ensure_resource_provider, set_inventory_for_provider).
"""

import collections
from urllib import parse

from keystoneauth1 import adapter
from keystoneauth1 import loading as ka_loading

from zun.common import context as zun_context
from zun.common import exception
import zun.conf

CONF = zun.conf.CONF

CONSUMER_GENERATION_VERSION = '1.28'
INTREE_AC_VERSION = '1.31'

ProviderAllocInfo = collections.namedtuple('ProviderAllocInfo',
                                           ['allocations'])


class SchedulerReportClient(object):
    def __init__(self, context=None, adapter_=None):
        self._context = context or zun_context.get_admin_context()
        auth = ka_loading.load_auth_from_conf_options(CONF, 'keystone_auth')
        session = ka_loading.load_session_from_conf_options(
            CONF, 'keystone_auth', auth=auth)
        self._client = adapter_ or adapter.Adapter(session, auth=auth)
        self._client.additional_headers = {'accept': 'application/json'}
        self._ks_filter = {'service_type': 'placement',
                           'interface': 'public'}

    def get(self, url, version=None, global_request_id=None):
        return self._client.get(url, endpoint_filter=self._ks_filter,
                                microversion=version, raise_exc=False)

    def post(self, url, data, version=None, global_request_id=None):
        return self._client.post(url, endpoint_filter=self._ks_filter,
                                 json=data, microversion=version,
                                 raise_exc=False)

    def put(self, url, data, version=None, global_request_id=None):
        return self._client.put(url, endpoint_filter=self._ks_filter,
                                json=data, microversion=version,
                                raise_exc=False)

    def delete(self, url, version=None, global_request_id=None):
        return self._client.delete(url, endpoint_filter=self._ks_filter,
                                   microversion=version, raise_exc=False)

    def get_allocation_candidates(self, context, resources):
        query = parse.urlencode({'resources': ','.join(
            '%s:%s' % (rc, amount)
            for rc, amount in sorted(resources.items()))})
        resp = self.get('/allocation_candidates?%s' % query,
                        version=INTREE_AC_VERSION)
        if resp.status_code == 200:
            data = resp.json()
            return (data['allocation_requests'], data['provider_summaries'],
                    INTREE_AC_VERSION)
        return None, None, None

    def claim_resources(self, context, consumer_uuid, alloc_request,
                        project_id, user_id, allocation_request_version,
                        consumer_generation=None):
        payload = dict(alloc_request, project_id=project_id,
                       user_id=user_id,
                       consumer_generation=consumer_generation)
        resp = self.put('/allocations/%s' % consumer_uuid, payload,
                        version=allocation_request_version)
        return resp.status_code == 204

    def get_allocations_for_resource_provider(self, context, rp_uuid):
        url = '/resource_providers/%s/allocations' % rp_uuid
        resp = self.get(url)
        if not resp:
            raise exception.ResourceProviderAllocationRetrievalFailed(
                rp_uuid=rp_uuid, error=resp.text)
        return ProviderAllocInfo(allocations=resp.json()['allocations'])

    def delete_allocation_for_container(self, context, uuid):
        resp = self.delete('/allocations/%s' % uuid)
        return resp.status_code in (204, 404)

    def _ensure_resource_provider(self, context, uuid, name=None):
        resp = self.post('/resource_providers',
                         {'uuid': uuid, 'name': name or uuid},
                         version='1.20')
        if resp.status_code != 200:
            raise exception.ResourceProviderCreationFailed(name=name)
        return uuid

    def set_inventory_for_provider(self, context, rp_uuid, inv_data):
        resp = self.get('/resource_providers/%s' % rp_uuid)
        generation = resp.json()['generation']
        resp = self.put('/resource_providers/%s/inventories' % rp_uuid,
                        {'resource_provider_generation': generation,
                         'inventories': inv_data})
        if resp.status_code != 200:
            raise exception.ZunException(
                'inventory of %s refused: %s' % (rp_uuid, resp.text))
