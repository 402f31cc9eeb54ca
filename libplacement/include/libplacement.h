/*
 * libplacement — parallelism-aware placement and runtime choice.
 *
 * The architecture, one header per concern (conventions: docs/api.md):
 *   common.h    status codes, the lp_ctx handle and its last error
 *   policy.h    the policy of a context: parameters, runtime orders
 *   model.h     classes, runtimes, hosts, workloads, clusters
 *   classify.h  workload class from metrics; runtime choice
 *   place.h     filter + score in batch; multi-instance placement
 *   learn.h     classes learned per image and flavor from running instances
 *   rebalance.h the fewest live migrations back within every cap; runtime switches
 *   explain.h   human-readable reasons
 *   codec.h     JSON snapshots, cluster and request files, plans
 *   fetch.h     agents' snapshots fetched in parallel (libcurl multi), TTL cache
 * (collect.h, the host agent's collectors, is a separate library:
 * libplacement-collect.a.)
 */
#ifndef LIBPLACEMENT_H
#define LIBPLACEMENT_H

#include "libplacement/common.h"
#include "libplacement/model.h"
#include "libplacement/policy.h"
#include "libplacement/classify.h"
#include "libplacement/place.h"
#include "libplacement/learn.h"
#include "libplacement/rebalance.h"
#include "libplacement/explain.h"
#include "libplacement/codec.h"
#include "libplacement/fetch.h"

#endif
