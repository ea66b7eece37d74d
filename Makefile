# slubd - GNU Makefile.  `make` builds everything into build/.
#
#   make                      libraries, programs, tests and benchmarks
#   make test                 build and run every test; last line "N passed, N failed"
#   make bench                run the benchmarks (figures and ratios, never pass/fail)
#   make SANITIZER=address,undefined test    the same suite under sanitizers
#   make DEBUG=1 test         -O0 and the engine's expensive assertions
#   make soak KILLS=N         N kills inside slow paths (engine), N kills of slubd's
#                             clients (t_chaos), and a long multi-process run
#   make valgrind             the e2e tests with slubd under valgrind: no error, no leak
#   make fuzz FUZZ_SECONDS=N  libFuzzer on slubd's control path (clang)
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

PKG_LIBS := libevent libprotobuf-c jansson inih libsystemd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKG_LIBS) 2>/dev/null)
LIBEVENT := $(shell pkg-config --libs libevent 2>/dev/null || echo -levent)
PROTOBUF := $(shell pkg-config --libs libprotobuf-c 2>/dev/null || echo -lprotobuf-c)
JANSSON  := $(shell pkg-config --libs jansson 2>/dev/null || echo -ljansson)
INIH     := $(shell pkg-config --libs inih 2>/dev/null || echo -linih)
SYSTEMD  := $(shell pkg-config --libs libsystemd 2>/dev/null || echo -lsystemd)

CFLAGS  := $(CFLAGS_BASE) $(CFLAGS_OPT) $(CFLAGS_SAN) $(EXTRA_CFLAGS)
LDFLAGS := -pthread $(CFLAGS_SAN)
ifeq ($(shell uname -m),aarch64)
LDLIBS  += -latomic	# 16-byte CAS without LSE goes through libatomic
endif
CPPFLAGS := -Ishm -Itests -Iproto -Iclient -I$(BUILD)/proto $(PKG_CFLAGS) -MMD -MP

SHM_SRC   := $(sort $(wildcard shm/*.c))
SHM_OBJ   := $(SHM_SRC:%.c=$(BUILD)/%.o)
PB_C      := $(BUILD)/proto/slubd.pb-c.c
PB_H      := $(BUILD)/proto/slubd.pb-c.h
PROTO_OBJ := $(BUILD)/proto/slubd.pb-c.o $(BUILD)/proto/frame.o
CTL_OBJ   := $(BUILD)/client/ctl.o
LIB_SRC   := client/libslub.c client/ctl.c
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
PIC_OBJ   := $(patsubst %.c,$(BUILD)/pic/%.o,$(SHM_SRC) $(LIB_SRC) proto/frame.c) $(BUILD)/pic/proto/slubd.pb-c.o
SLUBD_SRC := $(sort $(wildcard slubd/*.c))
SLUBD_OBJ := $(SLUBD_SRC:slubd/%.c=$(BUILD)/slubd-obj/%.o)
HARN_OBJ  := $(BUILD)/tests/harness.o
TEST_SRC  := $(sort $(wildcard tests/unit/t_*.c tests/mp/t_*.c))
TEST_BIN  := $(patsubst %.c,$(BUILD)/%,$(TEST_SRC))
E2E_SRC   := $(sort $(wildcard tests/e2e/t_*.c))
E2E_BIN   := $(patsubst %.c,$(BUILD)/%,$(E2E_SRC))
E2E_LIB   := $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(E2E_SRC),$(wildcard tests/e2e/*.c)))
BENCH_SRC := $(sort $(wildcard tests/bench/*.c))
BENCH_BIN := $(patsubst %.c,$(BUILD)/%,$(BENCH_SRC))
EX_SRC    := $(sort $(wildcard client/examples/*.c))
EX_BIN    := $(patsubst client/examples/%.c,$(BUILD)/examples/%,$(EX_SRC))
PROGS     := $(if $(SLUBD_SRC),$(BUILD)/slubd) $(if $(wildcard client/slubctl.c),$(BUILD)/slubctl)
LIBS      := $(BUILD)/libshm.a $(if $(wildcard client/libslub.c),$(BUILD)/libslub.a $(BUILD)/libslub.so)

.PHONY: all test bench clean deps cross-aarch64 run install soak fuzz valgrind
all: $(LIBS) $(PROGS) $(TEST_BIN) $(E2E_BIN) $(BENCH_BIN) $(EX_BIN)

# install missing build dependencies (Debian, apt-get as root); a no-op when present
deps:
	@scripts/deps.sh

# the protocol, compiled with protoc-c at build time
$(PB_C) $(PB_H): proto/slubd.proto
	@mkdir -p $(BUILD)/proto
	protoc-c --c_out=$(BUILD)/proto --proto_path=proto $<

# every object that includes the generated header waits for it
$(SLUBD_OBJ) $(LIB_OBJ) $(BUILD)/proto/frame.o $(BUILD)/client/slubctl.o $(E2E_BIN:%=%.o) \
	$(E2E_LIB) $(filter $(BUILD)/pic/%,$(PIC_OBJ)): $(PB_H)

$(BUILD)/proto/slubd.pb-c.o: $(PB_C)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-unused-parameter -c $< -o $@

$(BUILD)/pic/proto/slubd.pb-c.o: $(PB_C)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -fvisibility=hidden -Wno-unused-parameter -c $< -o $@

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# the daemon's objects apart: build/slubd is the program
$(BUILD)/slubd-obj/%.o: slubd/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# libslub.so: position-independent, only slub.h's functions exported
$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(BUILD)/libshm.a: $(SHM_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libslub.a: $(SHM_OBJ) $(LIB_OBJ) $(PROTO_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libslub.so: $(PIC_OBJ)
	$(CC) -shared -Wl,-soname,libslub.so.0 $(LDFLAGS) $^ $(PROTOBUF) $(LDLIBS) -o $@.0
	ln -sf libslub.so.0 $@

$(BUILD)/slubd: $(SLUBD_OBJ) $(PROTO_OBJ) $(CTL_OBJ) $(BUILD)/libshm.a
	$(CC) $(LDFLAGS) $^ $(LIBEVENT) $(PROTOBUF) $(INIH) $(SYSTEMD) $(LDLIBS) -o $@

$(BUILD)/slubctl: $(BUILD)/client/slubctl.o $(CTL_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) $^ $(JANSSON) $(PROTOBUF) $(LDLIBS) -o $@

$(BUILD)/examples/%: $(BUILD)/client/examples/%.o $(BUILD)/libslub.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(PROTOBUF) $(LDLIBS) -o $@

$(BUILD)/tests/e2e/%: $(BUILD)/tests/e2e/%.o $(E2E_LIB) $(HARN_OBJ) $(BUILD)/libslub.a
	$(CC) $(LDFLAGS) $^ $(PROTOBUF) $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(HARN_OBJ) $(BUILD)/libshm.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

test: deps
	@$(MAKE) --no-print-directory all
	@SLUBD=$(CURDIR)/$(BUILD)/slubd SLUBCTL=$(CURDIR)/$(BUILD)/slubctl \
		EXAMPLES=$(CURDIR)/$(BUILD)/examples tests/run.sh $(TEST_BIN) $(E2E_BIN) \
		$(wildcard tests/systemd/t_*.sh)

# the libFuzzer target over slubd's frame decoding, request decoding and
# dispatch (clang, its own build in build/fuzz): make fuzz FUZZ_SECONDS=N
fuzz:
	@scripts/deps.sh --fuzz
	FUZZ_REQUIRED=1 FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60) tests/fuzz/run.sh

# kills at the slow paths' hook points, spread over the 11 points (CI: 1000)
KILLS ?= 1000
soak: $(BUILD)/tests/mp/t_kill $(BUILD)/tests/mp/t_mp $(BUILD)/tests/e2e/t_chaos $(BUILD)/slubd \
      $(BUILD)/slubctl
	T_KILL_REPEAT=$$(( ($(KILLS) + 10) / 11 )) tests/run.sh $(BUILD)/tests/mp/t_kill
	T_MP_CHILDREN=6 T_MP_OPS=500000 tests/run.sh $(BUILD)/tests/mp/t_mp
	T_CHAOS_KILLS=$(KILLS) TEST_TIMEOUT=$$(( 120 + $(KILLS) )) tests/run.sh $(BUILD)/tests/e2e/t_chaos

# the end-to-end tests with every slubd under valgrind (memcheck): no error,
# no definite or indirect leak, no descriptor left open; valgrind is required
valgrind: all
	$(if $(SANITIZER),$(error make valgrind: not with SANITIZER= (ASan and valgrind do not mix)))
	@scripts/deps.sh --bench
	BUILD=$(BUILD) tests/valgrind/run.sh

# build and start slubd in the foreground with its embedded defaults
run: deps
	@$(MAKE) --no-print-directory $(BUILD)/slubd $(BUILD)/slubctl
	exec $(BUILD)/slubd --foreground

bench: deps
	@scripts/deps.sh --bench || echo "bench: valgrind missing, instruction counts will be skipped"
	@$(MAKE) --no-print-directory $(BENCH_BIN)
	@for b in $(BENCH_BIN); do $$b || exit 1; done

# make install PREFIX=/usr/local DESTDIR=
PREFIX  ?= /usr/local
DESTDIR ?=
VERSION := 0.1.0
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/slubd
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/include
	install -m 0755 $(BUILD)/slubd $(DESTDIR)$(PREFIX)/sbin/slubd
	install -m 0755 $(BUILD)/slubctl $(DESTDIR)$(PREFIX)/bin/slubctl
	install -m 0644 $(BUILD)/libslub.a $(DESTDIR)$(PREFIX)/lib/libslub.a
	install -m 0755 $(BUILD)/libslub.so.0 $(DESTDIR)$(PREFIX)/lib/libslub.so.0
	ln -sf libslub.so.0 $(DESTDIR)$(PREFIX)/lib/libslub.so
	install -m 0644 client/slub.h $(DESTDIR)$(PREFIX)/include/slub.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' client/slub.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/slub.pc
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(PREFIX)/lib/sysusers.d $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(SYSCONFDIR)/slubd $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man8
	sed -e 's|^ExecStart=/usr/sbin/slubd |ExecStart=$(PREFIX)/sbin/slubd |' \
		-e 's|/etc/slubd/slubd.conf|$(SYSCONFDIR)/slubd/slubd.conf|' \
		systemd/slubd.service > $(DESTDIR)$(UNITDIR)/slubd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/slubd.service
	install -m 0644 systemd/slubd.socket $(DESTDIR)$(UNITDIR)/slubd.socket
	install -m 0644 systemd/slubd.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/slubd.conf
	# reserving huge pages at boot is the host's choice: copy it to /etc/sysctl.d
	install -m 0644 systemd/slubd-hugepages.conf $(DESTDIR)$(DOCDIR)/90-slubd-hugepages.conf
	# an edited config is the admin's: never overwritten
	test -e $(DESTDIR)$(SYSCONFDIR)/slubd/slubd.conf || \
		install -m 0644 etc/slubd.conf $(DESTDIR)$(SYSCONFDIR)/slubd/slubd.conf
	install -m 0644 man/slubd.8 man/slubctl.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/slub.3 $(DESTDIR)$(MANDIR)/man3/

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
