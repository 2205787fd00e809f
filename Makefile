# HotPatch: one non-recursive Makefile. Each folder contributes a files.mk
# that lists its sources and the programs or libraries it builds.
#
#   make                      build everything into $(B)/
#   make test                 unit tests, fuzz-corpus replays, integration tests
#   make check                unit tests + fuzz replays only (no servers)
#   make SANITIZE=address,undefined test
#   make fuzz                 libFuzzer targets (clang)
#   make bench                benchmarks (wrk, nginx reference)
#   make lint                 clang-format, banned functions, exported symbols
#   make deps                 install the Debian packages the project needs

CC       ?= cc
SANITIZE ?=
WERROR   ?=
OPT      ?= -O2

ifneq ($(SANITIZE),)
B        ?= build-san
OPT      := -O1 -fno-omit-frame-pointer
SANFLAGS := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all
else
B        ?= build
SANFLAGS :=
endif

PKGS     := jansson libsodium libcurl libzip libpq lmdb openssl libjwt
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter $(if $(WERROR),-Werror)
CFLAGS   += -std=c11 -g $(OPT) $(WARN) $(SANFLAGS) -fPIC -MMD -MP \
            -Icommon/include -Isdk/include $(PKG_CFLAGS)
LDFLAGS  += $(SANFLAGS)

# Per-library link flags; programs pick what they need.
LIBS_JSON   := -ljansson
LIBS_SODIUM := -lsodium
LIBS_CURL   := -lcurl
LIBS_ZIP    := -lzip
LIBS_PQ     := -lpq
LIBS_LMDB   := -llmdb
LIBS_JWT    := -ljwt
LIBS_SSL    := -lssl -lcrypto
LIBS_ZSTD   := -lzstd
COMMON_LDLIBS := $(LIBS_JSON) $(LIBS_SODIUM) $(LIBS_CURL) -lpthread -lm $(LIBS_ZSTD)

.DEFAULT_GOAL := all
ALL_TARGETS :=
TEST_BINS   :=
FUZZ_NAMES  :=
CLEAN_EXTRA :=

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

include common/files.mk
include sdk/files.mk
include cli/files.mk
include publisher/files.mk
include edge-check/files.mk
include tests/files.mk
include edge-check/deploy/deploy.mk

all: $(ALL_TARGETS)

deps:
	@bash tests/harness/deps.sh

check: all $(TEST_BINS) fuzz-replay
	@HP_BUILD=$(B) bash tests/run.sh unit

# `make test` installs what it needs first, so the README's command works on a
# fresh machine; `make check` does not (no servers, no root needed).
test: deps
	@$(MAKE) --no-print-directory all-tests
	@HP_BUILD=$(B) bash tests/run.sh all

all-tests: all $(TEST_BINS) fuzz-replay

run: deps
	@$(MAKE) --no-print-directory all
	@HP_BUILD=$(B) bash tests/harness/stack.sh up

stop:
	@HP_BUILD=$(B) bash tests/harness/stack.sh down $(if $(CLEAN),--clean)

bench: all
	@HP_BUILD=$(B) bash tests/bench/run.sh

lint:
	@bash tests/harness/lint.sh

clean:
	rm -rf build build-san build-fuzz $(CLEAN_EXTRA)

.PHONY: all all-tests deps check test run stop bench lint clean fuzz fuzz-replay

-include $(shell find $(B) -name '*.d' 2>/dev/null)
