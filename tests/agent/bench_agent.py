#!/usr/bin/python3
"""Benchmark of the agent: sweep cost per task over 1,000 processes, and the
agent's resident memory after 1,000 sweeps.

Prints:
  bench agent_sweep tasks=N us_per_task=X floor_us_per_task=F ratio=R
  bench agent_sweep_wall tasks=N us_per_task=X
  bench agent_rss samples=N rss_kib=X anon_kib=Y private_kib=Z
tasks are all the tasks a sweep reads (the 1,000 processes and every other
task of the host, root cgroup and kernel threads included: lp_host_tasks);
X is sweep CPU time per task. The floor F is
measured in the same run by bench_floor: one pread() of an already-open
task schedstat, the one syscall a sweep needs per task; R = X / F.
rss counts the shared libraries' resident pages, anon the agent's heap and
stacks, private every page only the agent maps (anon + its own pages of
files, libraries included).
"""
import os
import re
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agentlib  # noqa: E402

AGENT = os.environ.get("AGENT", "build/libplacement-agent")
FLOOR = os.environ.get("FLOOR", "build/agent-tests/bench_floor")
PROCS = 1000
SAMPLES = 1000


def metric(text, name):
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else 0.0


def private_kib(pid):
    """Pages mapped by this process alone (smaps_rollup Private_*)."""
    with open("/proc/%d/smaps_rollup" % pid) as f:
        return sum(int(v) for v in re.findall(r"^Private_(?:Clean|Dirty):\s+(\d+) kB", f.read(), re.M))


def floor_us(procs_file):
    """CPU time of one pread() of an open schedstat, per task."""
    out = subprocess.run([FLOOR, procs_file, "200"], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    return float(re.search(r"floor_us_per_task=(\S+)", out).group(1))


def main():
    if os.geteuid() != 0:
        print("bench agent_sweep skipped: needs root to create the cgroup")
        return
    cg = agentlib.Cgroup("bench", cpus="0")
    agent = None
    try:
        cg.spawn(["/bin/sh", "-c", "i=0; while [ $i -lt %d ]; do sleep 600 & i=$((i+1)); done; "
                  "echo ready; wait" % (PROCS - 1)], wait_line=True)
        port = agentlib.free_port()
        agent = agentlib.Daemon(AGENT, "--port", str(port), "--interval", "0.01",
                                "--collectors", "proc", "--log-level", "warning")
        agent.wait_ready(port)
        url = "http://127.0.0.1:%d/metrics" % port
        end = time.monotonic() + 300
        while True:
            text = urllib.request.urlopen(url, timeout=10).read().decode()
            sweeps = metric(text, "lp_agent_sweeps_total")
            if sweeps >= SAMPLES or time.monotonic() > end:
                break
            time.sleep(0.5)
        threads = metric(text, "lp_host_tasks")
        # CPU time: on a shared machine wall time also counts waiting for a CPU
        cpu = metric(text, "lp_agent_sweep_cpu_seconds_total")
        wall = metric(text, "lp_agent_sweep_seconds_total")
        rss = (agent.rss_kib(), agent.rss_kib("RssAnon"), private_kib(agent.proc.pid))
        agent.close()
        agent = None
        us = cpu / sweeps / threads * 1e6
        floor = floor_us(cg.dirs[0] + "/cgroup.procs")
        print("bench agent_sweep tasks=%d us_per_task=%.3f floor_us_per_task=%.3f ratio=%.2f"
              % (threads, us, floor, us / floor))
        print("bench agent_sweep_wall tasks=%d us_per_task=%.3f" % (threads, wall / sweeps / threads * 1e6))
        print("bench agent_rss samples=%d rss_kib=%d anon_kib=%d private_kib=%d" % ((sweeps,) + rss))
    finally:
        if agent:
            agent.close()
        cg.destroy()


if __name__ == "__main__":
    main()
