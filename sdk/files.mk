# sdk/: libhotpatch (static + shared) and the hotpatch-agent device client.
SDK_SRCS := $(filter-out sdk/agent.c,$(wildcard sdk/*.c))
SDK_OBJS := $(SDK_SRCS:%.c=$(B)/%.o)
SDK_LIB  := $(B)/lib/libhotpatch.a
SDK_LDLIBS := $(COMMON_LDLIBS) $(LIBS_ZIP)

$(SDK_LIB): $(SDK_OBJS) $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

ALL_TARGETS += $(SDK_LIB)
SDK_TEST_OBJS   := $(SDK_LIB)
SDK_TEST_LDLIBS := $(SDK_LDLIBS)
