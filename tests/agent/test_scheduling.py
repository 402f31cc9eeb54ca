"""The agent's snapshots fed to the C core as the scheduler uses them
(lpctl explain): a host running services with many threads and little CPU
stays open for new work, a host whose CPUs are busy (in workload cgroups or
outside any) refuses it.

The host is shared with other work this test does not control, so each case
is built to hold whatever that work does: the open case judges the host by
the test's own workloads (the snapshot without the other workloads and the
host-wide load) at the largest capacity the policy allows, 16 x its threads
(32 here: above what the services are measured at, far below their 246
threads; their cgroups get a larger CPU weight so that others' work does not
keep their threads waiting for a CPU, which demand counts), and asserts that
they reserve what they were measured to use;
the refused case only needs the host to be at least as busy as the test
makes it.
"""
import json
import os
import sys
import time
import unittest

import agentlib

AGENT = os.environ.get("AGENT", "build/libplacement-agent")
SPIN = os.environ.get("SPIN", "build/agent-tests/spin")
LPCTL = os.environ.get("LPCTL", "build/lpctl")

NEW_WORK = {"id": "new", "vcpus": 1, "class": "cpu"}


def first_snapshot(test, *args):
    """The first snapshot a freshly started agent serves (a VM host's
    runtimes: the test needs no hypervisor)."""
    port = agentlib.free_port()
    d = agentlib.Daemon(AGENT, "--port", str(port), "--collectors", "proc", "--runtimes", "unikernel,vm",
                        "--interval", "60", "--window", "2", *args)
    test.addCleanup(d.close)
    end = time.monotonic() + 60
    while True:
        try:
            status, _, body = agentlib.http_get(port, "/v1/snapshot")
        except OSError:
            status = None
        if status == 200:
            return json.loads(body)
        test.assertLess(time.monotonic(), end, "no snapshot: %s" % d.stderr_text())
        time.sleep(0.1)


def verdict(plan):
    """(placed?, explanation) of the single request's single instance."""
    p = plan["placements"][0]
    if p["host"]:
        return True, p["explain"]
    return False, list(plan["refusals"][0]["hosts"].values())[0]


class SchedulingTest(unittest.TestCase):

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to create cgroups")

    def cgroup(self, name):
        cg = agentlib.Cgroup("sched-%s" % name)
        self.addCleanup(cg.destroy)
        return cg

    def test_many_threaded_services_leave_the_host_open(self):
        services = {46: (self.cgroup("svc46"), "0.3"), 200: (self.cgroup("svc200"), "0.2")}
        for threads, (cg, cpus) in services.items():
            cg.set_weight(8)
            cg.spawn([SPIN, str(threads), "120", cpus], wait_line=True)
        snap = first_snapshot(self)
        mine = [w for w in snap["workloads"] if w["id"] in {cg.rel for cg, _ in services.values()}]
        self.assertEqual(sorted(w["threads"] for w in mine), [46, 200])
        measured = sum(w["demand"] for w in mine)
        host = dict(snap, workloads=mine)
        host.pop("load", None)
        plan, rc = agentlib.lpctl_place(LPCTL, [host], [NEW_WORK], "--set", "max_parallel_ratio=16")
        placed, why = verdict(plan)
        print("\n  services measured at %.2f runnable threads (246 threads): %s" % (measured, why),
              file=sys.stderr)
        cap = snap["cpu"]["threads"] * 16
        self.assertLess(measured + 1, cap, mine)
        self.assertTrue(placed, why)
        self.assertEqual(rc, 0)
        self.assertIn("demand %.2f + 1.00" % measured, why)
        self.assertIn("cap %.2f" % cap, why)

    def test_busy_host_refuses_new_work(self):
        """Busy threads in a workload cgroup and in the root cgroup (where the
        host's own daemons run) fill the host: new work is refused."""
        busy = self.cgroup("busy")
        busy.spawn([SPIN, "2", "120"], wait_line=True)
        agentlib.spawn_in_root_cgroup(self, [SPIN, "2", "120"])
        snap = first_snapshot(self)
        w = [w for w in snap["workloads"] if w["id"] == busy.rel][0]
        self.assertGreater(w["demand"], 1.7, w)
        self.assertGreater(snap["load"]["demand"], 3.4, snap["load"])
        plan, rc = agentlib.lpctl_place(LPCTL, [snap], [NEW_WORK])
        placed, why = verdict(plan)
        print("\n  busy host (demand %.2f on %d threads): %s" % (snap["load"]["demand"], snap["cpu"]["threads"], why),
              file=sys.stderr)
        self.assertFalse(placed, why)
        self.assertEqual(rc, 3)
        self.assertEqual(plan["placements"][0]["reason"], "parallelism")
