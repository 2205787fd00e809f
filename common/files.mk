# common/: the internal library shared by the CLI, publisher, edge and SDK.
# Never installed. Every common/*.c is part of libcommon.a.
COMMON_SRCS := $(wildcard common/*.c)
COMMON_OBJS := $(COMMON_SRCS:%.c=$(B)/%.o)
COMMON_LIB  := $(B)/lib/libcommon.a

$(COMMON_LIB): $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

ALL_TARGETS += $(COMMON_LIB)
COMMON_TEST_OBJS   := $(COMMON_LIB)
COMMON_TEST_LDLIBS := $(COMMON_LDLIBS) $(LIBS_ZIP) # patchset.c (the tests link it; programs that do not call it need no libzip)
