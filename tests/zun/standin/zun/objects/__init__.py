"""Stand-in for Zun (openstack/zun 023280e4, 15.0.0-4): the interface the
libplacement plugin touches, written for its tests (see docs/zun.md)."""

from zun.objects import compute_node
from zun.objects import container
from zun.objects import registry
from zun.objects import zun_service

Container = container.Container
ComputeNode = compute_node.ComputeNode
Registry = registry.Registry
ZunService = zun_service.ZunService
