# publisher/: hotpatch-publisher, the admin API daemon.
# The numbered SQL migrations in publisher/migrations/ are compiled into the
# program (a generated C file of string literals), so the binary needs no
# data files at run time.
PUB_SRCS := $(filter-out publisher/main.c,$(wildcard publisher/*.c))
PUB_MIGRATIONS := $(sort $(wildcard publisher/migrations/*.sql))
PUB_GEN_C := $(B)/gen/publisher/pub_migrations_gen.c
# The dashboard's static files (publisher/dashboard/) are embedded the same way.
PUB_ASSETS := $(sort $(wildcard publisher/dashboard/*.html publisher/dashboard/*.js publisher/dashboard/*.css publisher/dashboard/*.svg))
PUB_ASSETS_C := $(B)/gen/publisher/pub_assets_gen.c
PUB_OBJS := $(PUB_SRCS:%.c=$(B)/%.o) $(B)/gen/publisher/pub_migrations_gen.o $(B)/gen/publisher/pub_assets_gen.o
PUB_LIB  := $(B)/lib/libpub.a
PUB_LDLIBS := $(COMMON_LDLIBS) $(LIBS_PQ) $(LIBS_JWT) $(LIBS_MHD) $(LIBS_ZIP)

$(PUB_GEN_C): $(PUB_MIGRATIONS) publisher/gen_migrations.sh
	@mkdir -p $(dir $@)
	sh publisher/gen_migrations.sh $(PUB_MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(B)/gen/publisher/pub_migrations_gen.o: $(PUB_GEN_C)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ipublisher -c -o $@ $<

$(PUB_ASSETS_C): $(PUB_ASSETS) publisher/gen_assets.sh
	@mkdir -p $(dir $@)
	sh publisher/gen_assets.sh $(PUB_ASSETS) > $@.tmp && mv $@.tmp $@

$(B)/gen/publisher/pub_assets_gen.o: $(PUB_ASSETS_C)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ipublisher -c -o $@ $<

$(PUB_LIB): $(PUB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(B)/bin/hotpatch-publisher: $(B)/publisher/main.o $(PUB_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(B)/publisher/main.o $(PUB_LIB) $(COMMON_LIB) $(PUB_LDLIBS)

ALL_TARGETS += $(B)/bin/hotpatch-publisher
PUB_TEST_OBJS   := $(PUB_LIB) $(COMMON_LIB)
$(B)/tests/unit/publisher/%.o $(B)/tests/fuzz/pub_%.o: CFLAGS += -Ipublisher
PUB_TEST_LDLIBS := $(PUB_LDLIBS)
