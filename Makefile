# slubd - GNU Makefile.  `make` builds everything into build/.
#
#   make                      libraries, programs, tests and benchmarks
#   make test                 build and run every test; last line "N passed, N failed"
#   make bench                run the benchmarks (figures and ratios, never pass/fail)
#   make SANITIZER=address,undefined test    the same suite under sanitizers
#   make DEBUG=1 test         -O0 and the engine's expensive assertions
#
# Builds with other SANITIZER= or DEBUG= settings go to their own folder under
# build/, so that objects built with different flags never mix.

CC      ?= gcc
ifeq ($(origin CC),default)
CC      := gcc
endif
SANITIZER ?=
DEBUG     ?=

CFLAGS_BASE := -std=gnu11 -g -Wall -Wextra -Wshadow -Wstrict-prototypes \
	-Werror=int-conversion -Werror=incompatible-pointer-types \
	-Werror=implicit-function-declaration -D_GNU_SOURCE -pthread -fno-strict-aliasing
ifeq ($(DEBUG),1)
CFLAGS_OPT := -O0 -DSHM_DEBUG=1
else
CFLAGS_OPT := -O2
endif
ifneq ($(SANITIZER),)
CFLAGS_SAN := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

comma := ,
BUILD := build
ifneq ($(SANITIZER)$(DEBUG),)
BUILD := build/variant$(if $(SANITIZER),-$(subst $(comma),-,$(SANITIZER)))$(if $(DEBUG),-debug)
endif

CFLAGS  := $(CFLAGS_BASE) $(CFLAGS_OPT) $(CFLAGS_SAN) $(EXTRA_CFLAGS)
LDFLAGS := -pthread $(CFLAGS_SAN)
ifeq ($(shell uname -m),aarch64)
LDLIBS  += -latomic	# 16-byte CAS without LSE goes through libatomic
endif
CPPFLAGS := -Ishm -Itests -MMD -MP

SHM_SRC   := $(sort $(wildcard shm/*.c))
SHM_OBJ   := $(SHM_SRC:%.c=$(BUILD)/%.o)
HARN_OBJ  := $(BUILD)/tests/harness.o
TEST_SRC  := $(sort $(wildcard tests/unit/t_*.c tests/mp/t_*.c))
TEST_BIN  := $(patsubst %.c,$(BUILD)/%,$(TEST_SRC))
BENCH_SRC := $(sort $(wildcard tests/bench/*.c))
BENCH_BIN := $(patsubst %.c,$(BUILD)/%,$(BENCH_SRC))

.PHONY: all test bench clean deps cross-aarch64
all: $(BUILD)/libshm.a $(TEST_BIN) $(BENCH_BIN)

# install missing build dependencies (Debian, apt-get as root); a no-op when present
deps:
	@scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/libshm.a: $(SHM_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(HARN_OBJ) $(BUILD)/libshm.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

test: deps
	@$(MAKE) --no-print-directory $(TEST_BIN)
	@tests/run.sh $(TEST_BIN)

bench: deps
	@scripts/deps.sh --bench || echo "bench: valgrind missing, instruction counts will be skipped"
	@$(MAKE) --no-print-directory $(BENCH_BIN)
	@for b in $(BENCH_BIN); do $$b || exit 1; done

# aarch64 must keep compiling (its 16-byte CAS is the compiler's 128-bit atomics)
AARCH64_CC ?= aarch64-linux-gnu-gcc
cross-aarch64:
	@mkdir -p build/aarch64
	@for f in $(SHM_SRC); do \
		$(AARCH64_CC) $(CFLAGS_BASE) -O2 -Werror -Ishm -c $$f -o build/aarch64/$$(basename $$f .c).o || exit 1; \
	done; echo "aarch64: shm/ compiles without warnings"

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
