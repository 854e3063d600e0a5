# peer/: libpeer (peer_*.c, rvp*.c) and the rvpeer CLI (main.c, cli_*.c —
# linked into rvpeer only). Plain sockets, no DPDK. tests/unit/peer/ links
# the same library.

PEER_PC     := $(PROTO_PC)
PEER_SRC    := $(filter-out peer/main.c,$(wildcard peer/peer_*.c peer/rvp*.c))
PEER_OBJ    := $(PEER_SRC:%.c=$(BUILD)/%.o)
PEER_LIB    := $(BUILD)/libpeer.a
CLI_OBJ     := $(patsubst %.c,$(BUILD)/%.o,$(wildcard peer/cli_*.c))
RVPEER      := $(BUILD)/rvpeer
PEER_CFLAGS := $(call pc_cflags,$(PEER_PC))
PEER_LIBS   := $(call pc_libs,$(PEER_PC)) -lm

$(PEER_OBJ) $(BUILD)/peer/main.o $(CLI_OBJ): OBJ_CFLAGS := $(PEER_CFLAGS)
$(PEER_OBJ) $(BUILD)/peer/main.o $(CLI_OBJ): | $(call pc_stamps,$(PEER_PC))
$(PEER_LIB): $(PEER_OBJ)
	$(archive)

$(RVPEER): $(BUILD)/peer/main.o $(CLI_OBJ) $(PEER_LIB) $(PROTO_LIB)
	$(call quiet,LD,$@)
	$(Q)$(CC) $(BASE_LDFLAGS) -o $@ $^ $(PEER_LIBS)

ifneq ($(wildcard peer/main.c),)
PROGRAMS += $(RVPEER)
endif

UNIT_LIBS_peer   := $(PEER_LIB) $(PROTO_LIB)
UNIT_LDLIBS_peer := $(PEER_LIBS)
UNIT_CFLAGS_peer := $(PEER_CFLAGS)
