# The scheduler-side snapshot fetcher (libplacement/src/fetch.c): its unit
# test is built by the generic tests/unit rule; this adds the fake agents'
# header as a dependency, and the benchmark.
#
#   make bench-fetch    bench fetch hosts=N ms=X over loopback (N = 200, 1000)

$(B)/rel/tests/test_fetch $(B)/san/tests/test_fetch: tests/unit/fetch_agents.h
# Its HTTPS agent uses OpenSSL directly.
$(B)/rel/tests/test_fetch $(B)/san/tests/test_fetch: TEST_LIBS = -lssl -lcrypto

$(B)/bench_fetch: bench/bench_fetch.c bench/bench_util.h tests/unit/fetch_agents.h $(LIB_A)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(LIB_A) $(LIB_LIBS)

.PHONY: bench-fetch
bench-fetch: $(B)/bench_fetch
	$(B)/bench_fetch

BENCH_TARGETS += bench-fetch
