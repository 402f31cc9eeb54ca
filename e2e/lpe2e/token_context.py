"""Paste filter for nova-api behind ``noauth2``: the request's X-Auth-Token on
Nova's request context.

``noauth2`` builds the context from the token ``user:project`` but leaves
its ``auth_token`` empty, so Nova's Glance and Neutron clients, which pass
the user's token on, have none to send and fail (keystoneauth's
AuthorizationFailure). Placed after ``noauth2`` in the pipeline
(e2e/lpe2e/cloud.py writes it), it copies the header; the context travels
with every RPC, so conductor, scheduler and computes have it too. Test
clouds only: there is no authentication.
"""

import webob.dec

from nova.api import wsgi


class TokenOnContext(wsgi.Middleware):

    @webob.dec.wsgify
    def __call__(self, req):
        ctx = req.environ.get('nova.context')
        token = req.headers.get('X-Auth-Token')
        if ctx is not None and token and not ctx.auth_token:
            ctx.auth_token = token
        return self.application
