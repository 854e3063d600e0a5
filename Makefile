# rendezvous — one top-level Makefile.
#
#   make            build every program that exists into build/
#   make test       build and run every test suite (unit, vectors, lab, e2e)
#   make asan       unit tests under AddressSanitizer + UBSan (build-asan/)
#   make lint       clang-format check, headers compile alone, proto/ purity
#   make deps       install the Debian packages (scripts/deps.sh)
#   make demo       the NAT lab demo (see README)
#   V=1             show the commands
#
# Every program is a static library of its directory plus a thin main.c.
# Every external library comes through pkg-config; a missing one stops the
# build with the Debian package to install.

.DEFAULT_GOAL := all

BUILD   ?= build
CC      ?= gcc
PREFIX  ?= /usr/local
DESTDIR ?=
OPT     ?= -O2
SAN     ?=

ifeq ($(V),1)
Q :=
quiet = @true
else
Q := @
quiet = @printf '  %-6s %s\n' $(1) $(2)
endif

WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Werror
CSTD    := -std=gnu11
CFLAGS  ?=
BASE_CFLAGS := $(CSTD) $(OPT) -g $(WARN) -D_GNU_SOURCE -MMD -MP -I. $(SAN) $(CFLAGS)
LDFLAGS ?=
BASE_LDFLAGS := $(SAN) $(LDFLAGS)

# --- external libraries: pkg-config name -> Debian package -------------------
DEB_libsodium    := libsodium-dev
DEB_nettle       := nettle-dev
DEB_criterion    := libcriterion-dev
DEB_sqlite3      := libsqlite3-dev
DEB_libdpdk      := libdpdk-dev
DEB_liburcu-qsbr := liburcu-dev
DEB_liburcu-cds  := liburcu-dev

pc_cflags = $(shell pkg-config --cflags $(1) 2>/dev/null)
pc_libs   = $(shell pkg-config --libs $(1) 2>/dev/null)

# A stamp per library: the check runs once per build dir and fails clearly.
$(BUILD)/.pc/%:
	$(Q)mkdir -p $(@D)
	$(Q)pkg-config --exists $* || { \
	  echo "error: missing library '$*' (pkg-config)."; \
	  echo "       install it with: apt-get install $(DEB_$*)   (or: make deps)"; \
	  exit 1; }
	$(Q)touch $@
pc_stamps = $(addprefix $(BUILD)/.pc/,$(1))
.SECONDARY:

# --- generic rules -----------------------------------------------------------
# Every object comes from its source by one rule; a directory's fragment
# gives its objects their flags (target-specific OBJ_CFLAGS) and its
# library checks (order-only pkg-config stamps), and archives them with
# $(archive).
$(BUILD)/%.o: %.c
	$(call quiet,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(BASE_CFLAGS) $(OBJ_CFLAGS) -c $< -o $@

define archive
	$(call quiet,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
endef

# --- proto/: pure shared library --------------------------------------------
PROTO_PC   := libsodium nettle
PROTO_SRC  := $(wildcard proto/*.c)
PROTO_OBJ  := $(PROTO_SRC:%.c=$(BUILD)/%.o)
PROTO_LIB  := $(BUILD)/libproto.a
PROTO_CFLAGS := $(call pc_cflags,$(PROTO_PC))
PROTO_LIBS   := $(call pc_libs,$(PROTO_PC))

$(PROTO_OBJ): OBJ_CFLAGS := $(PROTO_CFLAGS)
$(PROTO_OBJ): | $(call pc_stamps,$(PROTO_PC))
$(PROTO_LIB): $(PROTO_OBJ)
	$(archive)

# --- programs (each directory's own fragment, included when it exists) -----
PROGRAMS :=
TEST_BINS :=
-include $(wildcard */build.mk tests/*/build.mk)

# --- unit tests: one Criterion binary per directory under tests/unit/ ------
UNIT_DIRS := $(patsubst tests/unit/%/,%,$(sort $(dir $(wildcard tests/unit/*/*.c))))
UNIT_BINS := $(UNIT_DIRS:%=$(BUILD)/tests/unit-%)
TEST_PC   := criterion
TEST_CFLAGS := $(call pc_cflags,$(TEST_PC)) -DRV_SRCDIR='"$(CURDIR)"'
TEST_LIBS   := $(call pc_libs,$(TEST_PC))

# unit-<dir> links every library named in UNIT_LIBS_<dir> (default: proto).
UNIT_LIBS_proto ?= $(PROTO_LIB)
UNIT_LDLIBS_proto ?= $(PROTO_LIBS)

unit_objs = $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/unit/$(1)/*.c))
define unit_dir_rules
$(call unit_objs,$(1)): OBJ_CFLAGS := $(TEST_CFLAGS) $(PROTO_CFLAGS) $(UNIT_CFLAGS_$(1))
$(call unit_objs,$(1)): | $(call pc_stamps,$(TEST_PC) $(PROTO_PC))
endef
$(foreach d,$(UNIT_DIRS),$(eval $(call unit_dir_rules,$(d))))

.SECONDEXPANSION:
$(BUILD)/tests/unit-%: $$(call unit_objs,$$*) $$(UNIT_LIBS_$$*)
	$(call quiet,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(BASE_LDFLAGS) -o $@ $(filter %.o,$^) $(UNIT_LIBS_$*) $(UNIT_LDLIBS_$*) $(TEST_LIBS)

# --- top-level targets -------------------------------------------------------
.PHONY: all test unit asan lint deps demo clean install check-build

all: $(PROTO_LIB) $(PROGRAMS)

unit: $(UNIT_BINS)

# Build everything first, then hand over to the runner, which runs each
# suite, skips (125) what the machine cannot run, and ends with the summary.
test: all $(UNIT_BINS) $(TEST_BINS)
	$(Q)BUILD=$(BUILD) scripts/run-tests.sh $(UNIT_BINS:$(BUILD)/%=%)

asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" unit
	$(Q)BUILD=build-asan RV_ONLY_UNIT=1 \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  scripts/run-tests.sh $(UNIT_DIRS:%=tests/unit-%)

lint:
	$(Q)scripts/lint.sh

deps:
	$(Q)bash scripts/deps.sh

demo:
	$(Q)bash scripts/demo.sh

bench: all bench-tools
	$(Q)BUILD=$(BUILD) bash scripts/bench.sh

# Issue 9: a spoofed flood from 10^3, 10^5, 10^7 sources (tests/bench/flood.sh --help).
.PHONY: flood
flood: all bench-tools
	$(Q)BUILD=$(BUILD) bash tests/bench/flood.sh $(FLOOD_ARGS)

# Issue 9: rvcontrol restart time against registry size (tests/control/restart-scale.sh --help).
.PHONY: restart-scale
restart-scale: all $(BUILD)/tests/crashload $(BUILD)/tests/fillstore
	$(Q)BUILD=$(BUILD) bash tests/control/restart-scale.sh $(RESTART_ARGS)

# The soak (not in CI): the NAT-lab matrix under a probe flood + rvcontrol
# kill -9 cycles, everything under ASan+UBSan, for SOAK_MINUTES (60);
# SOAK_ARGS=--short for ~5 min.
.PHONY: soak
soak:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  all natbox build-asan/tests/crashload
	$(Q)BUILD=build-asan bash scripts/soak.sh --minutes $(or $(SOAK_MINUTES),60) $(SOAK_ARGS)

# Each libFuzzer harness for FUZZ_SECONDS (tests/fuzz/fuzz.sh; needs clang).
.PHONY: fuzz
fuzz:
	$(Q)BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/fuzz.sh

# Which product lines each committed corpus reaches (clang coverage, llvm-cov).
.PHONY: fuzz-cov
fuzz-cov:
	$(Q)BUILD=$(BUILD) bash tests/fuzz/coverage.sh

install: all
	$(Q)install -d $(DESTDIR)$(PREFIX)/bin
	$(Q)for p in $(PROGRAMS); do install -m 0755 $$p $(DESTDIR)$(PREFIX)/bin/; done

clean:
	$(Q)rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
