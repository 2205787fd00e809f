# publisher/: hotpatch-publisher, the admin API daemon.
PUB_SRCS := $(filter-out publisher/main.c,$(wildcard publisher/*.c))
PUB_OBJS := $(PUB_SRCS:%.c=$(B)/%.o)
PUB_LIB  := $(B)/lib/libpub.a
PUB_LDLIBS := $(COMMON_LDLIBS) $(LIBS_PQ) $(LIBS_JWT) $(LIBS_ZIP)

$(PUB_LIB): $(PUB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

PUB_TEST_OBJS   := $(PUB_LIB) $(COMMON_LIB)
PUB_TEST_LDLIBS := $(PUB_LDLIBS)
