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
#   make run                  slubd in the foreground, with slubctl and the examples built
#   make install [PREFIX=/usr/local] [DESTDIR=]   programs, library, units, man pages;
#                             runs ldconfig when DESTDIR is empty (the live system)
#   make uninstall [PREFIX=...] [DESTDIR=]        removes what install put there
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
CTL_OBJ   := $(BUILD)/proto/ctl.o
LIB_SRC   := client/libslub.c proto/ctl.c
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
PIC_OBJ   := $(patsubst %.c,$(BUILD)/pic/%.o,$(SHM_SRC) $(LIB_SRC) proto/frame.c) $(BUILD)/pic/proto/slubd.pb-c.o
SLUBD_SRC := $(sort $(wildcard slubd/*.c))
SLUBD_OBJ := $(SLUBD_SRC:slubd/%.c=$(BUILD)/slubd-obj/%.o)
HARN_OBJ  := $(BUILD)/tests/harness.o $(BUILD)/tests/tlib.o
TEST_SRC  := $(sort $(wildcard tests/unit/t_*.c tests/mp/t_*.c))
TEST_BIN  := $(patsubst %.c,$(BUILD)/%,$(TEST_SRC))
E2E_SRC   := $(sort $(wildcard tests/e2e/t_*.c))
E2E_BIN   := $(patsubst %.c,$(BUILD)/%,$(E2E_SRC))
E2E_LIB   := $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(E2E_SRC),$(wildcard tests/e2e/*.c)))
CHAOS_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/e2e/chaos/*.c))	# t_chaos's own files
BENCH_SRC := $(sort $(wildcard tests/bench/*.c))
BENCH_BIN := $(patsubst %.c,$(BUILD)/%,$(BENCH_SRC))
EX_SRC    := $(sort $(wildcard client/examples/*.c))
EX_BIN    := $(patsubst client/examples/%.c,$(BUILD)/examples/%,$(EX_SRC))
PROGS     := $(if $(SLUBD_SRC),$(BUILD)/slubd) $(if $(wildcard client/slubctl.c),$(BUILD)/slubctl)
LIBS      := $(BUILD)/libshm.a $(if $(wildcard client/libslub.c),$(BUILD)/libslub.a $(BUILD)/libslub.so)

.PHONY: all test bench clean deps cross-aarch64 run install uninstall soak fuzz valgrind
all: $(LIBS) $(PROGS) $(TEST_BIN) $(E2E_BIN) $(BENCH_BIN) $(EX_BIN)

# keep every object, also those only a chained rule needs (tests/x.o for
# tests/x, client/examples/x.o): deleted, they were all rebuilt by the next make
.SECONDARY:

# install missing build dependencies (Debian, apt-get as root); a no-op when present
deps:
	@scripts/deps.sh

# the protocol, compiled with protoc-c at build time
$(PB_C) $(PB_H): proto/slubd.proto
	@mkdir -p $(BUILD)/proto
	protoc-c --c_out=$(BUILD)/proto --proto_path=proto $<

# every object that includes the generated header waits for it
$(SLUBD_OBJ) $(LIB_OBJ) $(BUILD)/proto/frame.o $(BUILD)/client/slubctl.o $(E2E_BIN:%=%.o) \
	$(E2E_LIB) $(CHAOS_OBJ) $(filter $(BUILD)/pic/%,$(PIC_OBJ)): $(PB_H)

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

$(BUILD)/slubctl: $(BUILD)/client/slubctl.o $(CTL_OBJ) $(PROTO_OBJ) $(BUILD)/libshm.a
	$(CC) $(LDFLAGS) $^ $(JANSSON) $(PROTOBUF) $(LDLIBS) -o $@

$(BUILD)/examples/%: $(BUILD)/client/examples/%.o $(BUILD)/libslub.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(PROTOBUF) $(LDLIBS) -o $@

$(BUILD)/tests/e2e/t_chaos: $(CHAOS_OBJ)
$(BUILD)/tests/e2e/%: $(BUILD)/tests/e2e/%.o $(E2E_LIB) $(HARN_OBJ) $(BUILD)/libslub.a
	$(CC) $(LDFLAGS) $^ $(JANSSON) $(PROTOBUF) $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(HARN_OBJ) $(BUILD)/libshm.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

test: deps
	@$(MAKE) --no-print-directory all
	@SLUBD=$(CURDIR)/$(BUILD)/slubd SLUBCTL=$(CURDIR)/$(BUILD)/slubctl \
		EXAMPLES=$(CURDIR)/$(BUILD)/examples CC='$(CC)' SLUB_TEST_CFLAGS='$(CFLAGS_SAN)' tests/run.sh $(TEST_BIN) $(E2E_BIN) \
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

# build and start slubd in the foreground with its embedded defaults; the
# README's quick start uses slubctl and the examples from another terminal
run: deps
	@$(MAKE) --no-print-directory $(BUILD)/slubd $(BUILD)/slubctl $(EX_BIN)
	exec $(BUILD)/slubd --foreground

bench: deps
	@scripts/deps.sh --bench || echo "bench: valgrind missing, instruction counts will be skipped"
	@$(MAKE) --no-print-directory $(BENCH_BIN)
	@for b in $(BENCH_BIN); do $$b || exit 1; done

# make install PREFIX=/usr/local DESTDIR=   (make uninstall with the same settings)
# Installs what a user of slubd needs, never builds tests or benchmarks.  The
# files carry installed paths: the sources name the /usr and /etc ones, and
# INST_PATHS rewrites them for these directories (the unit's ExecStart= and
# Documentation=, every path in the man pages' FILES and text).
PREFIX  ?= /usr/local
DESTDIR ?=
# the version is written once, in proto/ctl_limits.h (slubd --version and slubctl --version read it)
VERSION := $(shell sed -n 's/^\#define SLUBD_VERSION[^"]*"\([^"]*\)".*/\1/p' proto/ctl_limits.h)
SYSCONFDIR  ?= /etc
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/slubd
MAN_PAGES   := $(sort $(wildcard man/*.[1-8]))
INST_PATHS  := -e 's|^ExecStart=/usr/bin/env slubd |ExecStart=$(SBINDIR)/slubd |' \
	-e 's|/usr/lib/systemd/system|$(UNITDIR)|g' -e 's|/usr/lib/sysusers\.d|$(SYSUSERSDIR)|g' \
	-e 's|/usr/share/doc/slubd|$(DOCDIR)|g' -e 's|/usr/share/man|$(MANDIR)|g' \
	-e 's|/usr/sbin/slubd|$(SBINDIR)/slubd|g' -e 's|/usr/bin/slubctl|$(BINDIR)/slubctl|g' \
	-e 's|/etc/slubd|$(SYSCONFDIR)/slubd|g'
# what install puts, config file apart (kept when edited)
INST_FILES  := $(BINDIR)/slubctl $(SBINDIR)/slubd $(LIBDIR)/libslub.a $(LIBDIR)/libslub.so.0 \
	$(LIBDIR)/libslub.so $(INCLUDEDIR)/slub.h $(LIBDIR)/pkgconfig/slub.pc \
	$(UNITDIR)/slubd.service $(UNITDIR)/slubd.socket $(SYSUSERSDIR)/slubd.conf \
	$(DOCDIR)/90-slubd-hugepages.conf \
	$(foreach m,$(MAN_PAGES),$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)))

# the live system (DESTDIR empty): the dynamic linker's cache must learn of
# libslub.so.0, else programs linked with -lslub fail to start; and say so
# when LIBDIR is not a directory it searches
define ldconfig_live
	@if [ -z "$(DESTDIR)" ]; then \
		if [ "$$(id -u)" = 0 ]; then echo "ldconfig"; ldconfig || exit 1; \
		else echo "not root: ldconfig not run (run it as root)"; fi; \
	fi
endef

install: $(BUILD)/slubd $(BUILD)/slubctl $(BUILD)/libslub.a $(BUILD)/libslub.so
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(INCLUDEDIR)
	install -m 0755 $(BUILD)/slubd $(DESTDIR)$(SBINDIR)/slubd
	install -m 0755 $(BUILD)/slubctl $(DESTDIR)$(BINDIR)/slubctl
	install -m 0644 $(BUILD)/libslub.a $(DESTDIR)$(LIBDIR)/libslub.a
	install -m 0755 $(BUILD)/libslub.so.0 $(DESTDIR)$(LIBDIR)/libslub.so.0
	ln -sf libslub.so.0 $(DESTDIR)$(LIBDIR)/libslub.so
	install -m 0644 client/slub.h $(DESTDIR)$(INCLUDEDIR)/slub.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
		-e 's|^libdir=.*|libdir=$(LIBDIR)|' -e 's|^includedir=.*|includedir=$(INCLUDEDIR)|' \
		client/slub.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/slub.pc
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(SYSCONFDIR)/slubd $(sort $(foreach m,$(MAN_PAGES),\
		$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))))
	for f in systemd/slubd.service systemd/slubd.socket; do \
		sed $(INST_PATHS) $$f > $(DESTDIR)$(UNITDIR)/$${f#systemd/} && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$${f#systemd/} || exit 1; done
	sed $(INST_PATHS) etc/sysusers.d/slubd.conf > $(DESTDIR)$(SYSUSERSDIR)/slubd.conf
	# reserving huge pages at boot is the host's choice: copy it to /etc/sysctl.d
	sed $(INST_PATHS) etc/sysctl.d/90-slubd-hugepages.conf > $(DESTDIR)$(DOCDIR)/90-slubd-hugepages.conf
	chmod 0644 $(DESTDIR)$(SYSUSERSDIR)/slubd.conf $(DESTDIR)$(DOCDIR)/90-slubd-hugepages.conf
	# an edited config is the admin's: never overwritten
	test -e $(DESTDIR)$(SYSCONFDIR)/slubd/slubd.conf || \
		install -m 0644 etc/slubd.conf $(DESTDIR)$(SYSCONFDIR)/slubd/slubd.conf
	for m in $(MAN_PAGES); do \
		d=$(DESTDIR)$(MANDIR)/man$${m##*.}; \
		sed $(INST_PATHS) $$m > $$d/$${m#man/} && chmod 0644 $$d/$${m#man/} || exit 1; done
	$(ldconfig_live)
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
		lib=$$(realpath $(LIBDIR)/libslub.so.0); found=; \
		for f in $$(ldconfig -p | sed -n 's/^[[:space:]]*libslub\.so\.0 .*=> //p'); do \
			[ "$$(realpath $$f)" != "$$lib" ] || found=1; done; \
		[ -n "$$found" ] || { \
		echo "note: $(LIBDIR) is not a directory the dynamic linker searches: a program"; \
		echo "  linked with -lslub will not find libslub.so.0.  Add $(LIBDIR) to a file in"; \
		echo "  /etc/ld.so.conf.d/ and run ldconfig, or link with -Wl,-rpath,$(LIBDIR)."; }; \
	fi

# removes what install put; the config file only when it is still the
# shipped one (an edited one is kept); then the directories install may have
# made, those left empty (PREFIX/bin, lib, include, share stay)
UNITDIR_EMPTY := $(DESTDIR)$(UNITDIR) $(if $(filter %/systemd/system,$(UNITDIR)),$(DESTDIR)$(UNITDIR:%/system=%))
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INST_FILES))
	@c=$(DESTDIR)$(SYSCONFDIR)/slubd/slubd.conf; \
	if [ -e $$c ]; then \
		if cmp -s etc/slubd.conf $$c; then echo "rm -f $$c"; rm -f $$c; \
		else echo "kept $$c: it differs from etc/slubd.conf (edited); remove it yourself"; fi; \
	fi
	@for d in $(DESTDIR)$(SYSCONFDIR)/slubd $(DESTDIR)$(DOCDIR) $(UNITDIR_EMPTY) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(MANDIR)/man3 \
		$(DESTDIR)$(MANDIR)/man8; do \
		[ ! -d $$d ] || rmdir --ignore-fail-on-non-empty $$d || exit 1; done
	$(ldconfig_live)

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
