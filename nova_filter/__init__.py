"""libplacement for Nova: parallelism-aware filters and weigher.

nova.conf (weight_classes on one line)::

    [filter_scheduler]
    available_filters = nova.scheduler.filters.all_filters
    available_filters = nova_filter.all_filters
    enabled_filters = ...,ParallelismFilter,RuntimeFilter
    weight_classes = nova.scheduler.weights.all_weighers,
                     nova_filter.weighers.ParallelismWeigher

Options: group [libplacement] (nova_filter.opts). Docs: docs/nova.md.
"""


def all_filters():
    """Filter classes for [filter_scheduler] available_filters."""
    from nova_filter import filters
    return [filters.ParallelismFilter, filters.RuntimeFilter]
