"""Stock Nova 26's scheduling decision, vectorised over hosts (numpy).

Modelled from Debian's python3-nova 26.2 (Zed), /usr/lib/python3/dist-packages/nova:

- Filtering.  Default ``[filter_scheduler] enabled_filters``
  (nova/conf/scheduler.py: ComputeFilter, ComputeCapabilitiesFilter,
  ImagePropertiesFilter, ServerGroupAntiAffinityFilter,
  ServerGroupAffinityFilter) pass every up host of the simulation (no server
  group with a hard policy, no image or capability constraints).  CPU, RAM and
  disk are enforced by Placement on the resource providers' inventories:
  capacity = (total - reserved) x allocation_ratio, with the defaults of
  nova/conf/compute.py: ``initial_cpu_allocation_ratio`` 16.0,
  ``initial_ram_allocation_ratio`` 1.5, ``initial_disk_allocation_ratio`` 1.0,
  ``reserved_host_memory_mb`` 512, ``reserved_host_cpus`` 0,
  ``reserved_host_disk_mb`` 0.
- Weighing.  ``weight_classes = nova.scheduler.weights.all_weighers``:
  RAMWeigher (ram.py: ``host_state.free_ram_mb``, minval 0), CPUWeigher
  (cpu.py: ``vcpus_total x cpu_allocation_ratio - vcpus_used``, minval 0),
  DiskWeigher (disk.py: ``free_disk_mb``, minval 0), each with multiplier 1.0;
  IoOpsWeigher (multiplier -1.0 on instances being built, 0 once they are
  active, as in a sequential simulation), MetricsWeigher (no metrics
  configured), PCIWeigher, BuildFailureWeigher, CrossCellWeigher: 0 for every
  host here.  ServerGroupSoftAffinityWeigher / SoftAntiAffinityWeigher
  (affinity.py: members of the group on the host, min-max normalised,
  multipliers 1.0) count only for servers in a soft-(anti-)affinity server
  group: the ``groups=True`` variant puts net groups in soft-affinity and cpu
  groups in soft-anti-affinity groups, as an operator who knows the workloads
  would.
- Normalisation (nova/weights.py ``normalize``): per weigher over the hosts
  that passed, ``(w - minval) / (max - minval)`` with minval 0 for the
  resource weighers (all 0 when max == minval); weights add up with their
  multipliers and the hosts are sorted by weight, highest first (stable, so
  ties keep Placement's order: here, host index).  ``host_subset_size`` 1:
  the first host is chosen.  With one host left, no weighing.

HostState.free_ram_mb is physical (total - reserved - used, may go negative
with overcommit); so are free_disk_mb and vcpus_used.
"""

import numpy as np

CPU_ALLOCATION_RATIO = 16.0
RAM_ALLOCATION_RATIO = 1.5
DISK_ALLOCATION_RATIO = 1.0
RESERVED_HOST_MEMORY_MB = 512


def _normalize(w, minval):
    """nova.weights.normalize for one weigher (minval None = list minimum)."""
    lo = w.min() if minval is None else float(minval)
    hi = w.max()
    if hi == lo:
        return np.zeros_like(w, dtype=float)
    return (w - lo) / (hi - lo)


class NovaScheduler:
    """Placement + FilterScheduler defaults over numpy host arrays.

    threads, memory_mb, disk_mb: per-host totals.  consume()/release() keep
    vcpus_used, memory_used (reserved included) and disk_used.
    """

    def __init__(self, threads, memory_mb, disk_mb, groups=False):
        self.threads = np.asarray(threads, dtype=float)
        self.memory_mb = np.asarray(memory_mb, dtype=float)
        self.disk_mb = np.asarray(disk_mb, dtype=float)
        n = len(self.threads)
        self.vcpus_used = np.zeros(n)
        self.memory_used = np.full(n, float(RESERVED_HOST_MEMORY_MB))
        self.disk_used = np.zeros(n)
        self.groups = groups
        self.members = {}

    def select(self, vcpus, memory_mb, disk_mb, group=None, policy=None):
        """Index of the host stock Nova picks, or -1 (NoValidHost).
        policy: 'soft-affinity' or 'soft-anti-affinity' for a grouped server
        (only with groups=True)."""
        ok = ((self.vcpus_used + vcpus <= self.threads * CPU_ALLOCATION_RATIO) &
              (self.memory_used + memory_mb <=
               (self.memory_mb - RESERVED_HOST_MEMORY_MB) * RAM_ALLOCATION_RATIO +
               RESERVED_HOST_MEMORY_MB) &
              (self.disk_used + disk_mb <= self.disk_mb * DISK_ALLOCATION_RATIO))
        idx = np.flatnonzero(ok)
        if len(idx) == 0:
            return -1
        if len(idx) == 1:
            return int(idx[0])
        weight = _normalize(self.memory_mb[idx] - self.memory_used[idx], 0)
        weight += _normalize(self.threads[idx] * CPU_ALLOCATION_RATIO - self.vcpus_used[idx], 0)
        weight += _normalize(self.disk_mb[idx] - self.disk_used[idx], 0)
        if self.groups and group is not None and policy is not None:
            on_host = self.members.get(group)
            count = on_host[idx] if on_host is not None else np.zeros(len(idx))
            sign = 1.0 if policy == 'soft-affinity' else -1.0
            weight += _normalize(sign * count, None)
        return int(idx[np.argmax(weight)])

    def consume(self, host, vcpus, memory_mb, disk_mb, group=None):
        self.vcpus_used[host] += vcpus
        self.memory_used[host] += memory_mb
        self.disk_used[host] += disk_mb
        if group is not None:
            self.members.setdefault(group, np.zeros(len(self.threads)))[host] += 1

    def release(self, host, vcpus, memory_mb, disk_mb, group=None):
        self.consume(host, -vcpus, -memory_mb, -disk_mb)
        if group is not None:
            self.members[group][host] -= 1
