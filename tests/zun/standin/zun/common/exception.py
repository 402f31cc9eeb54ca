"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md)."""


class ZunException(Exception):
    """Base of Zun's exceptions: message formatted with the kwargs."""

    message = 'An unknown exception occurred.'

    def __init__(self, message=None, **kwargs):
        super(ZunException, self).__init__((message or self.message)
                                           % kwargs)


class ObjectActionError(ZunException):
    message = 'Object action %(action)s failed because: %(reason)s'


class NoValidHost(ZunException):
    message = 'No valid host was found. %(reason)s'


class ClassNotFound(ZunException):
    message = 'Class %(class_name)s could not be found: %(exception)s'


class SchedulerHostFilterNotFound(ZunException):
    message = 'Scheduler Host Filter %(filter_name)s could not be found.'


class ComputeNodeNotFound(ZunException):
    message = 'Compute node %(compute_node)s could not be found.'


class ResourceProviderAllocationRetrievalFailed(ZunException):
    message = ('Failed to retrieve allocations for resource provider '
               '%(rp_uuid)s: %(error)s')


class ResourceProviderCreationFailed(ZunException):
    message = 'Failed to create resource provider %(name)s'


class InvalidStateException(ZunException):
    message = ('Cannot %(action)s container %(id)s in %(actual_state)s '
               'state.')
