"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

zun/common/context.py: RequestContext (oslo.context's, with Zun's
``all_projects``) and get_admin_context().
"""

from oslo_context import context


class RequestContext(context.RequestContext):
    def __init__(self, all_projects=False, **kwargs):
        super(RequestContext, self).__init__(**kwargs)
        self.all_projects = all_projects

    def elevated(self):
        return get_admin_context(all_projects=self.all_projects)


def get_admin_context(show_deleted=False, all_projects=False):
    return RequestContext(user_id=None, project_id=None, is_admin=True,
                          show_deleted=show_deleted,
                          all_projects=all_projects)
