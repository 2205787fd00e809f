# cli/: the hotpatch developer / CI tool. main.c + cmd_<verb>.c + helpers;
# everything but main.c goes into libcli.a so the unit tests can link it.
CLI_SRCS := $(filter-out cli/main.c,$(wildcard cli/*.c))
CLI_OBJS := $(CLI_SRCS:%.c=$(B)/%.o)
CLI_LIB  := $(B)/lib/libcli.a
CLI_BIN  := $(B)/bin/hotpatch
CLI_LDLIBS := $(COMMON_LDLIBS) $(LIBS_ZIP)

$(CLI_LIB): $(CLI_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(CLI_BIN): $(B)/cli/main.o $(CLI_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(B)/cli/main.o $(CLI_LIB) $(COMMON_LIB) $(CLI_LDLIBS)

ALL_TARGETS += $(CLI_BIN)
CLI_TEST_OBJS   := $(CLI_LIB) $(COMMON_LIB)
CLI_TEST_LDLIBS := $(CLI_LDLIBS)
