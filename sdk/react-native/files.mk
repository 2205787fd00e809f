# sdk/react-native/files.mk: libhotpatch-core (the SDK without libcurl: the
# host plugs in its HTTP with hp_set_transport) and its tests. Included once
# from the top Makefile, after tests/files.mk.
#
# The core is exactly the SDK's objects with transport_none.o in place of
# transport_curl.o, plus the common/ modules the SDK uses (never http.o or the
# storage backends). The shared library exports only sdk/hotpatch.sym, through
# a version script generated from that list.
HP_CORE_COMMON := buf cjson cohort crypto decide err file ident manifest patch root semver str zipcheck
HP_CORE_OBJS   := $(filter-out $(B)/sdk/transport_curl.o,$(SDK_OBJS)) $(B)/sdk/transport_none.o \
                  $(HP_CORE_COMMON:%=$(B)/common/%.o)
HP_CORE_LIB    := $(B)/lib/libhotpatch-core.a
HP_CORE_SO     := $(B)/lib/libhotpatch-core.so
HP_CORE_LDLIBS := $(LIBS_JSON) $(LIBS_SODIUM) $(LIBS_ZIP) $(LIBS_ZSTD) -lpthread -lm
HP_CORE_VERS   := $(B)/lib/libhotpatch-core.map

$(B)/sdk/transport_none.o: CFLAGS += -fvisibility=hidden

$(HP_CORE_LIB): $(HP_CORE_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(HP_CORE_VERS): sdk/hotpatch.sym
	@mkdir -p $(dir $@)
	{ echo '{ global:'; sed 's/$$/;/' $<; echo 'local: *; };'; } >$@

$(HP_CORE_SO): $(HP_CORE_OBJS) $(HP_CORE_VERS)
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,libhotpatch-core.so -Wl,--version-script,$(HP_CORE_VERS) \
	    -Wl,--no-undefined -o $@ $(HP_CORE_OBJS) $(HP_CORE_LDLIBS)

# Unit tests of the core: linked with the core archive only (no -lcurl).
HP_CORE_TEST_SRCS := $(wildcard tests/unit/sdk-core/*_test.c)
HP_CORE_TEST_BINS := $(HP_CORE_TEST_SRCS:%.c=$(B)/%)
$(HP_CORE_TEST_BINS): $(B)/%: $(B)/%.o $(TEST_LIB_OBJS) $(HP_CORE_LIB)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(HP_CORE_LIB) $(HP_CORE_LDLIBS)

ALL_TARGETS += $(HP_CORE_LIB) $(HP_CORE_SO)
TEST_BINS   += $(HP_CORE_TEST_BINS)
