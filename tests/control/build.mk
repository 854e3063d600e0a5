# tests/control/: daemon-level tests of rvcontrol; crashload drives it with
# real peers (libpeer) for the kill -9 test (run-crash.sh).

CRASHLOAD := $(BUILD)/tests/crashload

$(BUILD)/tests/control/crashload.o: OBJ_CFLAGS := $(PEER_CFLAGS)
$(BUILD)/tests/control/crashload.o: | $(call pc_stamps,$(PEER_PC))
$(CRASHLOAD): $(BUILD)/tests/control/crashload.o $(PEER_LIB) $(PROTO_LIB)
	$(call quiet,LD,$@)
	$(Q)$(CC) $(BASE_LDFLAGS) -o $@ $^ $(PEER_LIBS)

TEST_BINS += $(CRASHLOAD)

# fillstore: an rvcontrol registry of N rows through ctl_store's own API,
# and the clocks of restart-scale.sh (not part of make test).
FILLSTORE := $(BUILD)/tests/fillstore

$(BUILD)/tests/control/fillstore.o: OBJ_CFLAGS := $(CTL_CFLAGS)
$(BUILD)/tests/control/fillstore.o: | $(call pc_stamps,$(CTL_PC))
$(FILLSTORE): $(BUILD)/tests/control/fillstore.o $(CTL_LIB) $(PROTO_LIB)
	$(call quiet,LD,$@)
	$(Q)$(CC) $(BASE_LDFLAGS) -o $@ $^ $(CTL_LIBS)
