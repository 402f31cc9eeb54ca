/*
 * libplacement — parallelism-aware placement and runtime choice.
 *
 * The architecture, one header per concern:
 *   common.h    status codes, the lp_ctx handle (policy + last error)
 *   model.h     classes, runtimes, hosts, workloads, clusters
 *   classify.h  workload class from metrics; runtime choice
 *   place.h     filter + score in batch; multi-instance placement
 *   explain.h   human-readable reasons
 *   codec.h     JSON snapshots, cluster and request files, plans
 *   fetch.h     agents' snapshots fetched in parallel (libcurl multi), TTL cache
 */
#ifndef LIBPLACEMENT_H
#define LIBPLACEMENT_H

#include "libplacement/common.h"
#include "libplacement/model.h"
#include "libplacement/classify.h"
#include "libplacement/place.h"
#include "libplacement/explain.h"
#include "libplacement/codec.h"
#include "libplacement/fetch.h"

#endif
