# control/: rvcontrol — libctl.a (everything but main.c) plus a thin main.
# tests/unit/control/ links the same library.

CTL_PC     := sqlite3 $(PROTO_PC)
CTL_SRC    := $(filter-out control/main.c,$(wildcard control/ctl_*.c))
CTL_OBJ    := $(CTL_SRC:%.c=$(BUILD)/%.o)
CTL_LIB    := $(BUILD)/libctl.a
RVCONTROL  := $(BUILD)/rvcontrol
CTL_CFLAGS := $(call pc_cflags,$(CTL_PC))
CTL_LIBS   := $(call pc_libs,$(CTL_PC))

$(CTL_OBJ) $(BUILD)/control/main.o: OBJ_CFLAGS := $(CTL_CFLAGS)
$(CTL_OBJ) $(BUILD)/control/main.o: | $(call pc_stamps,$(CTL_PC))
$(CTL_LIB): $(CTL_OBJ)
	$(archive)

$(RVCONTROL): $(BUILD)/control/main.o $(CTL_LIB) $(PROTO_LIB)
	$(call quiet,LD,$@)
	$(Q)$(CC) $(BASE_LDFLAGS) -o $@ $^ $(CTL_LIBS)

ifneq ($(wildcard control/main.c),)
PROGRAMS += $(RVCONTROL)
endif

UNIT_LIBS_control   := $(CTL_LIB) $(PROTO_LIB)
UNIT_LDLIBS_control := $(CTL_LIBS)
UNIT_CFLAGS_control := $(CTL_CFLAGS)
