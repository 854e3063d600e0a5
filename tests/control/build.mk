# tests/control/: daemon-level tests of rvcontrol; crashload drives it with
# real peers (libpeer) for the kill -9 test (run-crash.sh).

CRASHLOAD := $(BUILD)/tests/crashload

$(BUILD)/tests/control/crashload.o: OBJ_CFLAGS := $(PEER_CFLAGS)
$(BUILD)/tests/control/crashload.o: | $(call pc_stamps,$(PEER_PC))
$(CRASHLOAD): $(BUILD)/tests/control/crashload.o $(PEER_LIB) $(PROTO_LIB)
	$(call quiet,LD,$@)
	$(Q)$(CC) $(BASE_LDFLAGS) -o $@ $^ $(PEER_LIBS)

TEST_BINS += $(CRASHLOAD)
