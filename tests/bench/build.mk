# tests/bench/: the benchmark's own tools (make bench, scripts/bench.sh):
#   rvflood     kernel-socket STUN Binding flood (sendmmsg/recvmmsg), for coturn;
#               or a ChannelData flood through a kernel-socket relay (rvcontrol
#               standalone, through libpeer; coturn's TURN relay)
#   rvbenchctl  fills rvdp's sessions table and relays over --control, counts PUNTs
# Both link rvgen's pure parts (libgen.a: report, histogram, search, stamps)
# and proto/.

BENCH_BINS := $(BUILD)/rvflood $(BUILD)/rvbenchctl
FLOOD_OBJ  := $(BUILD)/tests/bench/flood.o $(BUILD)/tests/bench/relay_peer.o \
              $(BUILD)/tests/bench/relay_turn.o
BENCH_OBJ  := $(FLOOD_OBJ) $(BUILD)/tests/bench/benchctl.o

$(BENCH_OBJ): OBJ_CFLAGS := $(PROTO_CFLAGS)
$(BENCH_OBJ): | $(call pc_stamps,$(PROTO_PC))

$(BUILD)/rvflood: $(FLOOD_OBJ) $(GEN_LIB) $(PEER_LIB) $(PROTO_LIB)
	$(call quiet,LD,$@)
	$(Q)$(CC) $(BASE_LDFLAGS) -pthread -o $@ $^ $(PEER_LIBS)

$(BUILD)/rvbenchctl: $(BUILD)/tests/bench/benchctl.o $(GEN_LIB) $(PROTO_LIB)
	$(call quiet,LD,$@)
	$(Q)$(CC) $(BASE_LDFLAGS) -o $@ $^ $(PROTO_LIBS)

.PHONY: bench-tools
bench-tools: $(RVGEN) $(BENCH_BINS)

TEST_BINS += $(BENCH_BINS)
