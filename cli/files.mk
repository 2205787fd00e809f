# cli/: the hotpatch developer / CI tool.
CLI_SRCS := $(filter-out cli/main.c,$(wildcard cli/*.c))
CLI_OBJS := $(CLI_SRCS:%.c=$(B)/%.o)
CLI_LIB  := $(B)/lib/libcli.a
CLI_LDLIBS := $(COMMON_LDLIBS) $(LIBS_ZIP)

$(CLI_LIB): $(CLI_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

CLI_TEST_OBJS   := $(CLI_LIB) $(SDK_LIB) $(COMMON_LIB)
CLI_TEST_LDLIBS := $(CLI_LDLIBS)
