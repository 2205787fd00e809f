# sdk/: libhotpatch (static + shared) and the hotpatch-agent device client.
#
# The SDK objects are compiled with -fvisibility=hidden, so only functions
# marked HP_API in sdk/include/hotpatch.h are exported from libhotpatch.so;
# libcommon's objects are pulled in from the archive with --exclude-libs so
# none of their cmn_ symbols leak either (tests/harness/lint.sh diffs the
# exports against sdk/hotpatch.sym). hotpatch-agent links the shared library
# and uses only hotpatch.h of the SDK: it is built on the public API alone
# (plus common/str.o, statically, for the one JSON string escape).
#
# The shared library is versioned from the VERSION file (mk/version.mk):
# libhotpatch.so.MAJOR.MINOR.PATCH, with SONAME libhotpatch.so.MAJOR and the
# links libhotpatch.so.MAJOR (loader) and libhotpatch.so (linker) beside it.
SDK_SRCS := $(filter-out sdk/agent.c sdk/transport_none.c,$(wildcard sdk/*.c))
SDK_OBJS := $(SDK_SRCS:%.c=$(B)/%.o)
SDK_LIB  := $(B)/lib/libhotpatch.a
SDK_SO   := $(B)/lib/libhotpatch.so
SDK_SONAME  := libhotpatch.so.$(HP_SOVERSION)
SDK_SO_REAL := $(B)/lib/libhotpatch.so.$(HP_VERSION)
SDK_AGENT := $(B)/bin/hotpatch-agent
SDK_LDLIBS := $(COMMON_LDLIBS) $(LIBS_ZIP)

$(SDK_OBJS): CFLAGS += -fvisibility=hidden

$(SDK_LIB): $(SDK_OBJS) $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(SDK_SO_REAL): $(SDK_OBJS) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,$(SDK_SONAME) -Wl,--exclude-libs,ALL -Wl,--no-undefined \
	    -o $@ $(SDK_OBJS) $(COMMON_LIB) $(SDK_LDLIBS)

$(B)/lib/$(SDK_SONAME): $(SDK_SO_REAL)
	ln -sfn $(notdir $<) $@

$(SDK_SO): $(B)/lib/$(SDK_SONAME)
	ln -sfn $(notdir $<) $@

$(SDK_AGENT): $(B)/sdk/agent.o $(SDK_SO) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(B)/sdk/agent.o -L$(B)/lib -Wl,-rpath,'$$ORIGIN/../lib' -lhotpatch $(COMMON_LIB)

ALL_TARGETS += $(SDK_LIB) $(SDK_SO) $(SDK_AGENT)
SDK_TEST_OBJS   := $(SDK_LIB)
SDK_TEST_LDLIBS := $(SDK_LDLIBS)
