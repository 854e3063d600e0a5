# dpdk-app/: rvdp, the DPDK dataplane — libdp.a (everything but main.c) plus
# a thin main. The pure packet handlers in libdp.a are unit-tested without
# EAL (tests/unit/dpdk-app/ links the same library).

DP_PC     := libdpdk liburcu-qsbr liburcu-cds $(PROTO_PC)
DP_SRC    := $(filter-out dpdk-app/main.c,$(wildcard dpdk-app/dp_*.c))
DP_OBJ    := $(DP_SRC:%.c=$(BUILD)/%.o)
DP_LIB    := $(BUILD)/libdp.a
RVDP      := $(BUILD)/rvdp
DP_CFLAGS := $(call pc_cflags,$(DP_PC))
DP_LIBS   := $(call pc_libs,$(DP_PC)) -lpthread

$(DP_OBJ) $(BUILD)/dpdk-app/main.o: OBJ_CFLAGS := $(DP_CFLAGS)
$(DP_OBJ) $(BUILD)/dpdk-app/main.o: | $(call pc_stamps,$(DP_PC))
$(DP_LIB): $(DP_OBJ)
	$(archive)

$(RVDP): $(BUILD)/dpdk-app/main.o $(DP_LIB) $(PROTO_LIB)
	$(call quiet,LD,$@)
	$(Q)$(CC) $(BASE_LDFLAGS) -o $@ $^ $(DP_LIBS)

ifneq ($(wildcard dpdk-app/main.c),)
PROGRAMS += $(RVDP)
endif

UNIT_LIBS_dpdk-app   := $(DP_LIB) $(PROTO_LIB)
UNIT_LDLIBS_dpdk-app := $(DP_LIBS)
UNIT_CFLAGS_dpdk-app := $(DP_CFLAGS)

# --- rvgen: the load generator (issue 7) -------------------------------------
# libgen.a: the pure parts (pcap, templates, histogram, RFC 2544 search,
# report; unit-tested in tests/unit/rvgen/) and the ethdev loop (gen_eth.c);
# rvgen.c is the main. tests/bench/ links the pure parts too.
GEN_SRC := $(wildcard dpdk-app/gen_*.c)
GEN_OBJ := $(GEN_SRC:%.c=$(BUILD)/%.o)
GEN_LIB := $(BUILD)/libgen.a
RVGEN   := $(BUILD)/rvgen

$(GEN_OBJ) $(BUILD)/dpdk-app/rvgen.o: OBJ_CFLAGS := $(DP_CFLAGS)
$(GEN_OBJ) $(BUILD)/dpdk-app/rvgen.o: | $(call pc_stamps,$(DP_PC))
$(GEN_LIB): $(GEN_OBJ)
	$(archive)

$(RVGEN): $(BUILD)/dpdk-app/rvgen.o $(GEN_LIB) $(PROTO_LIB)
	$(call quiet,LD,$@)
	$(Q)$(CC) $(BASE_LDFLAGS) -o $@ $^ $(DP_LIBS) -lm

ifneq ($(wildcard dpdk-app/rvgen.c),)
PROGRAMS += $(RVGEN)
endif

UNIT_LIBS_rvgen   := $(GEN_LIB) $(PROTO_LIB)
UNIT_LDLIBS_rvgen := $(DP_LIBS) -lm
UNIT_CFLAGS_rvgen := $(DP_CFLAGS)
