# The JSON codec (libplacement/src/codec_*.c): its unit test and fuzzers are
# built by the generic rules; this adds the fuzzers' shared header as a
# dependency, and the benchmark.
#
#   make bench-codec    bench codec_parse / codec_write at 1,000 and 10,000 hosts

$(FUZZ_BINS): tests/fuzz/fuzz_util.h

$(B)/bench_codec: bench/bench_codec.c bench/bench_util.h $(LIB_A)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_A) $(LIB_LIBS)

.PHONY: bench-codec
bench-codec: $(B)/bench_codec
	$(B)/bench_codec

BENCH_TARGETS += bench-codec
