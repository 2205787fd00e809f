# HotPatch: one non-recursive Makefile. Each folder contributes a files.mk
# that lists its sources and the programs or libraries it builds.
#
#   make                      build everything into $(B)/
#   make test                 unit tests, fuzz-corpus replays, integration tests
#   make check                unit tests + fuzz replays only (no servers)
#   make SANITIZE=address,undefined test
#   make fuzz                 libFuzzer targets (clang)
#   make bench                benchmarks (wrk, nginx reference)
#   make lint                 clang-format, banned functions, exported symbols, layering
#   make deps                 install the Debian packages the project needs (mk/deps.sh)
#   make run / make stop      the local stack (mk/stack.sh)
#   make install              PREFIX=/usr/local DESTDIR=... (mk/install.mk)
#
# Project-wide rules live in mk/: version.mk (the VERSION file), run.mk
# (deps, run, stop), install.mk (install, uninstall, man pages, pkg-config).

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

PKGS     := jansson libsodium libcurl libzip libpq lmdb libjwt libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter $(if $(WERROR),-Werror)
CFLAGS   += -std=c11 -g $(OPT) $(WARN) $(SANFLAGS) -fPIC -MMD -MP \
            -Icommon/include -Isdk/include $(PKG_CFLAGS)
LDFLAGS  += $(SANFLAGS)

# Per-library link flags, as pkg-config gives them; programs pick what they need.
pkg_libs     = $(or $(shell pkg-config --libs $(1) 2>/dev/null),$(warning pkg-config does not know $(1): run 'make deps'))
LIBS_JSON   := $(call pkg_libs,jansson)
LIBS_SODIUM := $(call pkg_libs,libsodium)
LIBS_CURL   := $(call pkg_libs,libcurl)
LIBS_ZIP    := $(call pkg_libs,libzip)
LIBS_PQ     := $(call pkg_libs,libpq)
LIBS_LMDB   := $(call pkg_libs,lmdb)
LIBS_JWT    := $(call pkg_libs,libjwt)
LIBS_MHD    := $(call pkg_libs,libmicrohttpd)
LIBS_ZSTD   := $(call pkg_libs,libzstd)
COMMON_LDLIBS := $(LIBS_JSON) $(LIBS_SODIUM) $(LIBS_CURL) -lpthread -lm $(LIBS_ZSTD)

.DEFAULT_GOAL := all
ALL_TARGETS :=
TEST_BINS   :=
FUZZ_NAMES  :=
CLEAN_EXTRA :=

include mk/version.mk

$(B)/%.o: %.c | $(GEN_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

include common/files.mk
include sdk/files.mk
include cli/files.mk
include publisher/files.mk
include edge-check/files.mk
include tests/files.mk
include edge-check/deploy/lambda.mk
include mk/run.mk
include mk/install.mk
include mk/lint.mk
include sdk/react-native/files.mk

all: $(ALL_TARGETS)

check: all $(TEST_BINS) fuzz-replay
	@HP_BUILD=$(B) bash tests/run.sh unit

# `make test` installs what it needs first, so the README's command works on a
# fresh machine; `make check` does not (no servers, no root needed).
test: deps
	@$(MAKE) --no-print-directory all-tests
	@HP_BUILD=$(B) bash tests/run.sh all

all-tests: all $(TEST_BINS) fuzz-replay

bench: all
	@HP_BUILD=$(B) bash tests/bench/run.sh

clean:
	rm -rf build build-san build-fuzz $(CLEAN_EXTRA)

.PHONY: all all-tests deps check test run stop bench lint clean fuzz fuzz-replay

-include $(shell find $(B) -name '*.d' 2>/dev/null)
