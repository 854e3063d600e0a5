# tests/fuzz/: a libFuzzer harness per parser (fuzz_*.c), built two ways
# from the same sources, each flavour in its own object tree so the
# product's build is untouched:
#   $(BUILD)/fuzz/replay-NAME  gcc + ASan/UBSan + replay.c: runs the
#                              committed corpus (make test: run-corpus.sh)
#   $(BUILD)/fuzz/fuzz-NAME    clang -fsanitize=fuzzer,address,undefined:
#                              make fuzz (fuzz.sh; make fuzz-bins builds them)
#   $(BUILD)/fuzz/cov-NAME     clang source-based coverage + replay.c: which
#                              lines a corpus reaches (coverage.sh)
# Each harness links proto/ and the product sources it drives (FZ_SRC_NAME).

FUZZ_CC    ?= clang
FZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FZ_PC      := libsodium nettle liburcu-qsbr liburcu-cds
FZ_PCFLAGS := $(call pc_cflags,$(FZ_PC))
FZ_LIBS    := $(call pc_libs,$(FZ_PC)) -lpthread -lm
FZ_SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FZ_FLAGS   = $(CSTD) -O1 -g -D_GNU_SOURCE -MMD -MP -I. $(FZ_PCFLAGS)

# What each harness drives beyond proto/.
FZ_SRC_conf := dpdk-app/dp_conf.c
FZ_SRC_dp   := dpdk-app/dp_pkt.c dpdk-app/dp_frag.c dpdk-app/dp_rl.c dpdk-app/dp_table.c \
               dpdk-app/dp_relay.c dpdk-app/dp_conf.c dpdk-app/dp_slab.c
FZ_SRC_peer := peer/peer_punch.c
FZ_SRC_nat  := $(filter-out tests/natlab/natbox.c,$(wildcard tests/natlab/nat_*.c))

FZ_RDIR := $(BUILD)/fuzz/replay
FZ_LDIR := $(BUILD)/fuzz/lf
FZ_CDIR := $(BUILD)/fuzz/cov
FZ_REPLAY := $(FZ_NAMES:%=$(BUILD)/fuzz/replay-%)
FZ_FUZZ   := $(FZ_NAMES:%=$(BUILD)/fuzz/fuzz-%)
FZ_COV    := $(FZ_NAMES:%=$(BUILD)/fuzz/cov-%)
FZ_COVFLAGS := -fprofile-instr-generate -fcoverage-mapping

# liburcu's cds_lfht_for_each_entry computes container_of(NULL) at the end
# of a walk (NULL - 0: UB by the letter of C, which clang's pointer-overflow
# check reports): not checked in the two files that walk its tables.
FZ_URCU_OBJ := dpdk-app/dp_table.o dpdk-app/dp_relay.o
$(addprefix $(FZ_RDIR)/,$(FZ_URCU_OBJ)) $(addprefix $(FZ_LDIR)/,$(FZ_URCU_OBJ)): \
	FZ_EXTRA := -fno-sanitize=pointer-overflow

$(FZ_RDIR)/%.o: %.c | $(call pc_stamps,$(FZ_PC))
	$(call quiet,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(FZ_FLAGS) $(WARN) $(FZ_SAN) $(FZ_EXTRA) -c $< -o $@

# clang's warnings are not gcc's: reported, not fatal, in this flavour.
$(FZ_LDIR)/%.o: %.c | $(call pc_stamps,$(FZ_PC))
	$(call quiet,CLANG,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FZ_FLAGS) $(filter-out -Werror,$(WARN)) -Wno-format-nonliteral \
	  -fsanitize=fuzzer-no-link $(FZ_SAN) $(FZ_EXTRA) -c $< -o $@

$(FZ_CDIR)/%.o: %.c | $(call pc_stamps,$(FZ_PC))
	$(call quiet,CLANG,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FZ_FLAGS) -w $(FZ_COVFLAGS) -c $< -o $@

$(FZ_RDIR)/libproto.a: $(PROTO_SRC:%.c=$(FZ_RDIR)/%.o)
	$(archive)
$(FZ_CDIR)/libproto.a: $(PROTO_SRC:%.c=$(FZ_CDIR)/%.o)
	$(archive)
$(FZ_LDIR)/libproto.a: $(PROTO_SRC:%.c=$(FZ_LDIR)/%.o)
	$(archive)

# One pair of binaries per harness (explicit rules: each links its own
# product sources).
define fz_rules
$(BUILD)/fuzz/replay-$(1): $(FZ_RDIR)/tests/fuzz/fuzz_$(1).o $(FZ_RDIR)/tests/fuzz/replay.o \
                           $(FZ_SRC_$(1):%.c=$(FZ_RDIR)/%.o) $(FZ_RDIR)/libproto.a
	$$(call quiet,LD,$$@)
	$$(Q)$$(CC) $$(FZ_SAN) -o $$@ $$^ $$(FZ_LIBS)

$(BUILD)/fuzz/fuzz-$(1): $(FZ_LDIR)/tests/fuzz/fuzz_$(1).o $(FZ_SRC_$(1):%.c=$(FZ_LDIR)/%.o) \
                         $(FZ_LDIR)/libproto.a
	$$(call quiet,LD,$$@)
	$$(Q)$$(FUZZ_CC) -fsanitize=fuzzer $$(FZ_SAN) -o $$@ $$^ $$(FZ_LIBS)

$(BUILD)/fuzz/cov-$(1): $(FZ_CDIR)/tests/fuzz/fuzz_$(1).o $(FZ_CDIR)/tests/fuzz/replay.o \
                        $(FZ_SRC_$(1):%.c=$(FZ_CDIR)/%.o) $(FZ_CDIR)/libproto.a
	$$(call quiet,LD,$$@)
	$$(Q)$$(FUZZ_CC) $$(FZ_COVFLAGS) -o $$@ $$^ $$(FZ_LIBS)
endef
$(foreach n,$(FZ_NAMES),$(eval $(call fz_rules,$(n))))

.PHONY: fuzz-bins fuzz-replay fuzz-cov-bins
fuzz-bins: $(FZ_FUZZ)
fuzz-replay: $(FZ_REPLAY)
fuzz-cov-bins: $(FZ_COV)

TEST_BINS += $(FZ_REPLAY)

FUZZ_SECONDS ?= 60
