# The rebalancing planner (libplacement/src/rebalance.c): its unit test is
# built by the generic tests/unit rule; this adds the benchmark.
#
#   make bench-rebalance   bench rebalance hosts=N ... ms=X place_ms=P ratio=X/P
#                          at 1,000 and 10,000 hosts with 20 workloads each

$(B)/bench_rebalance: bench/bench_rebalance.c bench/bench_util.h $(LIB_A)
	$(CC) $(BASE_CFLAGS) -O2 -g -o $@ $< $(LIB_A) $(LIB_LIBS)

.PHONY: bench-rebalance
bench-rebalance: $(B)/bench_rebalance
	$(B)/bench_rebalance

BENCH_TARGETS += bench-rebalance
