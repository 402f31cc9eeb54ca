"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md).

How Zun turns [scheduler] available_filters into classes: each entry is the
dotted path of a filter class, or of a function returning filter classes.
"""

import inspect

from oslo_utils import importutils

from zun.common import exception


class BaseLoader(object):
    def __init__(self, loadable_cls_type):
        self.loadable_cls_type = loadable_cls_type

    def _is_correct_class(self, obj):
        return (inspect.isclass(obj) and not obj.__name__.startswith('_')
                and issubclass(obj, self.loadable_cls_type))

    def get_matching_classes(self, loadable_class_names):
        classes = []
        for name in loadable_class_names:
            obj = importutils.import_class(name)
            if self._is_correct_class(obj):
                classes.append(obj)
            elif inspect.isfunction(obj):
                classes.extend(obj())
            else:
                raise exception.ClassNotFound(
                    class_name=name,
                    exception='Not a class of the correct type')
        return classes
