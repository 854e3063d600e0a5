# tests/natlab/: the NAT lab's emulator (natbox) — a static library of the
# pure parts (packet codec, config, allocator, table, core, ARP) plus a thin
# main; the unit tests (tests/unit/natlab/) link the same library.

NATLAB_SRC := $(filter-out tests/natlab/natbox.c,$(wildcard tests/natlab/*.c))
NATLAB_OBJ := $(NATLAB_SRC:%.c=$(BUILD)/%.o)
NATLAB_LIB := $(BUILD)/libnatlab.a
NATBOX     := $(BUILD)/natbox
# log() for the Poisson clock of the background hosts.
NATLAB_LDLIBS := -lm

$(NATLAB_OBJ) $(BUILD)/tests/natlab/natbox.o: | $(call pc_stamps,$(PROTO_PC))
$(NATLAB_LIB): $(NATLAB_OBJ)
	$(archive)

$(NATBOX): $(BUILD)/tests/natlab/natbox.o $(NATLAB_LIB) $(PROTO_LIB)
	$(call quiet,LD,$@)
	$(Q)$(CC) $(BASE_LDFLAGS) -o $@ $^ $(PROTO_LIBS) $(NATLAB_LDLIBS)

.PHONY: natbox
natbox: $(NATBOX)

TEST_BINS += $(NATBOX)
UNIT_LIBS_natlab := $(NATLAB_LIB) $(PROTO_LIB)
UNIT_LDLIBS_natlab := $(PROTO_LIBS) $(NATLAB_LDLIBS)
