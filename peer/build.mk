# peer/: libpeer (everything but main.c) and the rvpeer CLI. Plain sockets,
# no DPDK. tests/unit/peer/ links the same library.

PEER_PC     := $(PROTO_PC)
PEER_SRC    := $(filter-out peer/main.c,$(wildcard peer/peer_*.c peer/rvp*.c))
PEER_OBJ    := $(PEER_SRC:%.c=$(BUILD)/%.o)
PEER_LIB    := $(BUILD)/libpeer.a
RVPEER      := $(BUILD)/rvpeer
PEER_CFLAGS := $(call pc_cflags,$(PEER_PC))
PEER_LIBS   := $(call pc_libs,$(PEER_PC)) -lm

$(PEER_OBJ) $(BUILD)/peer/main.o: OBJ_CFLAGS := $(PEER_CFLAGS)
$(PEER_OBJ) $(BUILD)/peer/main.o: | $(call pc_stamps,$(PEER_PC))
$(PEER_LIB): $(PEER_OBJ)
	$(archive)

$(RVPEER): $(BUILD)/peer/main.o $(PEER_LIB) $(PROTO_LIB)
	$(call quiet,LD,$@)
	$(Q)$(CC) $(BASE_LDFLAGS) -o $@ $^ $(PEER_LIBS)

ifneq ($(wildcard peer/main.c),)
PROGRAMS += $(RVPEER)
endif

UNIT_LIBS_peer   := $(PEER_LIB) $(PROTO_LIB)
UNIT_LDLIBS_peer := $(PEER_LIBS)
UNIT_CFLAGS_peer := $(PEER_CFLAGS)
