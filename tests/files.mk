# Test programs. Discovered by path, so adding a test needs no edit here:
#   tests/unit/<folder>/<name>_test.c   linked with that folder's archive
#   tests/fuzz/<prefix>_<name>.c        LLVMFuzzerTestOneInput; prefix picks the archive
#                                       (common_, sdk_, edge_, pub_, cli_)
# The normal build links fuzz targets with tests/fuzz/replay.c, a main() that
# feeds every file of tests/fuzz/corpus/<target>/ to the target once; `make fuzz`
# rebuilds them with clang -fsanitize=fuzzer.

TEST_LIB_OBJS := $(B)/tests/lib/test.o

define unit_tests
$(1)_UNIT_SRCS := $$(wildcard tests/unit/$(2)/*_test.c)
$(1)_UNIT_BINS := $$($(1)_UNIT_SRCS:%.c=$(B)/%)
$$($(1)_UNIT_BINS): $(B)/%: $(B)/%.o $(TEST_LIB_OBJS) $$($(1)_TEST_OBJS)
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $$($(1)_TEST_OBJS) $$($(1)_TEST_LDLIBS)
TEST_BINS += $$($(1)_UNIT_BINS)
endef
$(eval $(call unit_tests,COMMON,common))
$(eval $(call unit_tests,SDK,sdk))
$(eval $(call unit_tests,CLI,cli))
$(eval $(call unit_tests,PUB,publisher))
$(eval $(call unit_tests,EDGE,edge-check))

ifeq ($(FUZZ),1)
FUZZ_MAIN :=
FUZZ_LINK := -fsanitize=fuzzer
else
FUZZ_MAIN := $(B)/tests/fuzz/replay.o
FUZZ_LINK :=
endif

define fuzz_targets
$(1)_FUZZ_SRCS := $$(wildcard tests/fuzz/$(2)_*.c)
$(1)_FUZZ_BINS := $$(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$$($(1)_FUZZ_SRCS))
$$($(1)_FUZZ_BINS): $(B)/fuzz/%: $(B)/tests/fuzz/%.o $(FUZZ_MAIN) $$($(1)_TEST_OBJS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) $(FUZZ_LINK) -o $$@ $$(filter %.o,$$^) $$($(1)_TEST_OBJS) $$($(1)_TEST_LDLIBS)
FUZZ_BINS += $$($(1)_FUZZ_BINS)
endef
FUZZ_BINS :=
$(eval $(call fuzz_targets,COMMON,common))
$(eval $(call fuzz_targets,SDK,sdk))
$(eval $(call fuzz_targets,CLI,cli))
$(eval $(call fuzz_targets,PUB,pub))
$(eval $(call fuzz_targets,EDGE,edge))

fuzz-bins: $(FUZZ_BINS)

# Corpus replays run from tests/run.sh (part of `make check` / `make test`).
fuzz-replay: $(FUZZ_BINS)

# Real fuzzing build: clang, libFuzzer, ASan+UBSan, separate build dir.
fuzz:
	CFLAGS=-fsanitize=fuzzer-no-link $(MAKE) B=build-fuzz CC=clang FUZZ=1 SANITIZE=address,undefined fuzz-bins
	@echo "fuzz targets in build-fuzz/fuzz/; run e.g. build-fuzz/fuzz/common_cjson tests/fuzz/corpus/common_cjson"

.PHONY: fuzz-bins

# Integration tests written in C: tests/integration/<folder>/<name>_test.c,
# linked like unit tests, run by tests/run.sh after the servers are up.
define itests
$(1)_ITEST_SRCS := $$(wildcard tests/integration/$(2)/*_test.c)
$(1)_ITEST_BINS := $$($(1)_ITEST_SRCS:%.c=$(B)/%)
$$($(1)_ITEST_BINS): $(B)/%: $(B)/%.o $(TEST_LIB_OBJS) $$($(1)_TEST_OBJS)
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $$($(1)_TEST_OBJS) $$($(1)_TEST_LDLIBS)
TEST_BINS += $$($(1)_ITEST_BINS)
endef
$(eval $(call itests,COMMON,common))
$(eval $(call itests,SDK,sdk))
$(eval $(call itests,CLI,cli))
$(eval $(call itests,PUB,publisher))
$(eval $(call itests,EDGE,edge-check))
