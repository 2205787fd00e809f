# edge-check/: hotpatch-edge, the device-facing update-check server.
EDGE_SRCS := $(filter-out edge-check/main.c,$(wildcard edge-check/*.c))
EDGE_OBJS := $(EDGE_SRCS:%.c=$(B)/%.o)
EDGE_LIB  := $(B)/lib/libedge.a
EDGE_LDLIBS := $(COMMON_LDLIBS) $(LIBS_LMDB)

$(EDGE_LIB): $(EDGE_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(B)/bin/hotpatch-edge: $(B)/edge-check/main.o $(EDGE_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(B)/edge-check/main.o $(EDGE_LIB) $(COMMON_LIB) $(EDGE_LDLIBS)

ALL_TARGETS += $(B)/bin/hotpatch-edge

EDGE_TEST_OBJS   := $(EDGE_LIB) $(COMMON_LIB)
EDGE_TEST_LDLIBS := $(EDGE_LDLIBS)
