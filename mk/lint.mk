# mk/lint.mk - `make lint`: tests/harness/lint.sh (clang-format, first
# include, banned functions, the SDK's exported symbols) and the layering
# check (mk/layers.sh) over the built archives and program objects.
#
# Units, bottom to top (NAME:GROUP:RANK:FILES; a unit may reference a unit of
# lower rank in its own group or in group "-"):
#   common       libcommon.a                       shared by everyone
#   sdk          the SDK's objects                 on common
#   cli, pub, edge  each program's library         on common (and sdk)
#   *-main       each program's main.o             on its own library
#   agent        sdk/agent.o                       on the SDK

comma := ,
empty :=
space := $(empty) $(empty)
layer_files = $(subst $(space),$(comma),$(strip $(1)))

#
# The publisher is layered inside too (publisher/pub_core.h): core, domain,
# transport, handlers, main.c. Each of its objects must sit in exactly one
# layer below; a new publisher/*.c with no layer fails `make lint`. While the
# tree has no publisher/core.c (before the layered publisher), libpub.a is one
# unit below main.o.
PUB_LAYER_core      := core config db ratelimit
PUB_LAYER_domain    := publish release telemetry auth session jobs jsonreq multipart patchjob
PUB_LAYER_transport := http reply
PUB_LAYER_handlers  := routes h_%
PUB_LAYERS          := core domain transport handlers
pub_layer_objs = $(filter $(addprefix $(B)/publisher/,$(addsuffix .o,$(PUB_LAYER_$(1)))),$(PUB_OBJS))

ifneq ($(wildcard publisher/core.c),)
PUB_GEN_OBJS    := $(filter $(B)/gen/%,$(PUB_OBJS))
PUB_UNLAYERED   := $(filter-out $(foreach l,$(PUB_LAYERS),$(call pub_layer_objs,$(l))) $(PUB_GEN_OBJS),$(PUB_OBJS))
PUB_LAYER_UNITS := pub-core:pub:2:$(call layer_files,$(call pub_layer_objs,core) $(PUB_GEN_OBJS)) \
    pub-domain:pub:3:$(call layer_files,$(call pub_layer_objs,domain)) \
    pub-transport:pub:4:$(call layer_files,$(call pub_layer_objs,transport)) \
    pub-handlers:pub:5:$(call layer_files,$(call pub_layer_objs,handlers)) \
    pub-main:pub:6:$(B)/publisher/main.o
else
PUB_UNLAYERED   :=
PUB_LAYER_UNITS := pub:pub:2:$(PUB_LIB) pub-main:pub:3:$(B)/publisher/main.o
endif

LAYER_UNITS = \
    common:-:0:$(COMMON_LIB) \
    sdk:-:1:$(call layer_files,$(SDK_OBJS)) \
    cli:cli:2:$(CLI_LIB) cli-main:cli:3:$(B)/cli/main.o \
    $(PUB_LAYER_UNITS) \
    edge:edge:2:$(EDGE_LIB) edge-main:edge:3:$(B)/edge-check/main.o \
    agent:agent:3:$(B)/sdk/agent.o
LAYER_INPUTS = $(COMMON_LIB) $(SDK_OBJS) $(CLI_LIB) $(B)/cli/main.o $(PUB_LIB) $(PUB_OBJS) $(B)/publisher/main.o \
    $(EDGE_LIB) $(B)/edge-check/main.o $(B)/sdk/agent.o

layers: $(LAYER_INPUTS)
	@$(if $(PUB_UNLAYERED),echo "layering: no publisher layer for $(PUB_UNLAYERED): add it to PUB_LAYER_* in mk/lint.mk" && false,:)
	@bash mk/layers.sh $(LAYER_UNITS) && echo "layers: ok (no upward reference between $(words $(LAYER_UNITS)) units)"

lint: layers $(SDK_SO)
	@HP_BUILD=$(B) bash tests/harness/lint.sh

.PHONY: layers lint
