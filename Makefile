# SPDX-License-Identifier: LGPL-2.1-or-later
# imgtool - build, test and benchmark.
#
#   make            build/imgtool, libimgtool.a, build/libimgtool.so.0, imgtool.pc, the
#                   man pages (make install: under /usr/local: PREFIX=, DESTDIR=)
#   make deps       install every Debian package the build, tests and main job need
#   make deb        the Debian packages imgtool, libimgtool0, libimgtool-dev in build/deb/
#   make check      build and run every test suite (tests/run-all.sh, ~45 min)
#   make check-SUITE   one suite, tests/SUITE/run.sh: selftest (the test scaffolding),
#                   unit (CUnit), interop (qemu-img/qemu-io as the oracle), bad-input
#                   (malformed images), crash (kill -9 mid-write), backends (NFS,
#                   iSCSI, RBD servers), serve (NBD), launcher, guest (libguestfs),
#                   v2v, windows (v2v of a phony Windows guest), security (references
#                   out of images), docs (man pages, completion, libimgtool), packaging
#                   (the .debs), migrate (batch plans, Slurm), clone
#   make bench      ratios against qemu-img (see bench/README.md)
#   make demo       the main job on a generated example image
#   make SANITIZE=1 ...   the same under AddressSanitizer/UBSan (objects in build-asan/)
#   make WERROR=1 ...     warnings are errors (CI)

CC ?= cc
PKG_CONFIG ?= pkg-config

DEBIAN_PACKAGES = build-essential pkg-config zlib1g-dev libzstd-dev libjson-c-dev libssl-dev \
	libyaml-dev libsqlite3-dev \
	libcunit1-dev libdeflate-dev qemu-utils python3 libisal-dev
# tests/bad-input/test_memory.sh: peak RSS of hostile images (/usr/bin/time -f %M)
DEBIAN_PACKAGES += time
# make fuzz / check-fuzz: clang's libFuzzer and sanitizer runtimes
DEBIAN_PACKAGES += clang libclang-rt-dev

# tests/security traces every open and connect of an attack
DEBIAN_PACKAGES += strace
# network backends (libraries) and the real servers tests/backends/ starts
DEBIAN_PACKAGES += libnfs-dev libiscsi-dev librbd-dev librados-dev qemu-block-extra \
	nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils tgt libiscsi-bin \
	ceph-mon ceph-osd ceph-common uuid-runtime iproute2 bc
# ssh:// (backends/ssh/: SFTP and remote commands through libssh) and the private
# sshd tests/servers/lib.sh starts for its tests (start_sshd)
DEBIAN_PACKAGES += libssh-dev openssh-server openssh-client
# the launcher, its guest fixture (a Debian guest made by debootstrap) and virt-xml-validate
DEBIAN_PACKAGES += qemu-system-x86 linux-image-amd64 debootstrap \
	fdisk cpio xz-utils libvirt-clients ovmf
# guest inspection, customize and sysprep (libguestfs and its appliance)
DEBIAN_PACKAGES += libguestfs-dev
# v2v tests: the peer converter (virt-v2v) and guestfish to read converted guests back
DEBIAN_PACKAGES += virt-v2v nbdkit libnbd-bin libguestfs-tools
# v2v -o libvirt: a private libvirtd (tests/servers/lib.sh start_libvirt) for virsh define
DEBIAN_PACKAGES += libvirt-daemon libvirt-daemon-driver-qemu
# v2v -i ova: the OVF's XML and the manifest's SHA1/SHA256 sums
DEBIAN_PACKAGES += libxml2-dev libssl-dev
# migrate's tests: strace (reads counted), a real browser for the HTML report, a
# one-node Slurm for the job-array shards, PyYAML to check the Kubernetes manifest
DEBIAN_PACKAGES += strace time chromium fonts-dejavu-core slurmctld slurmd slurm-client munge \
	python3-yaml
# the phony Windows guest fixture: hivexregedit fills its registry hives, ntfs-3g
# gives the appliance mkntfs
DEBIAN_PACKAGES += libwin-hivex-perl ntfs-3g
# dmg's bzip2 chunks (formats/decompress.c).  Debian 12's libbz2-dev ships no
# .pc file, so the header decides and -lbz2 is linked by hand.
DEBIAN_PACKAGES += libbz2-dev
# man pages (scdoc), the completion test (bash-completion) and the Debian packages
DEBIAN_PACKAGES += scdoc bash-completion debhelper dpkg-dev fakeroot lintian man-db

ifeq ($(SANITIZE),1)
BUILD := build-asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD := build
SANFLAGS :=
endif
# The binary cannot sit at the top level: imgtool/ is the CLI's source folder.
BIN := $(BUILD)/imgtool
PREFIX ?= /usr/local
# one version, imgtool/cli.h's: the binary's, the library's (imgtool_version()),
# the shared object's file name and imgtool.pc's
VERSION := $(shell sed -n 's/^\#define IMGTOOL_VERSION "\(.*\)"/\1/p' imgtool/cli.h)

# libcrypto: SHA-256 for `imgtool checksum` (with the CPU's SHA extensions);
# libyaml and SQLite: migrate's plan and its durable state.  Linked, the three
# cost well under a millisecond of start-up, far less than the ICU libxml2 brings.
PKGS := zlib libzstd json-c libcrypto yaml-0.1 sqlite3
HAVE_LIBDEFLATE := $(shell $(PKG_CONFIG) --exists libdeflate && echo 1)
ifeq ($(HAVE_LIBDEFLATE),1)
PKGS += libdeflate
FEATURE_CFLAGS += -DHAVE_LIBDEFLATE=1
endif
# ISA-L's deflate makes qcow2 compression (convert -c) several times faster.
HAVE_ISAL := $(shell $(PKG_CONFIG) --exists libisal && echo 1)
ifeq ($(HAVE_ISAL),1)
PKGS += libisal
FEATURE_CFLAGS += -DHAVE_ISAL=1
endif

# common/dl.c loads the optional libraries below at first use rather than linking
# them (glibc 2.34+ has dlopen in libc; older ones need libdl).
DL_LIBS := -ldl

# v2v -i ova parses the OVF with libxml2 and checks the manifest's SHA sums with
# libcrypto; without them -i ova is refused with a message.  Both are dlopen()ed
# by v2v/input/ova_dl.c: linked, they add ICU and libstdc++ to every command.
ifeq ($(shell $(PKG_CONFIG) --exists libxml-2.0 libcrypto && echo 1),1)
FEATURE_CFLAGS += -DHAVE_OVA=1 $(shell $(PKG_CONFIG) --cflags libxml-2.0 libcrypto)
else
$(info imgtool: libxml2 or libcrypto not found (apt-get install libxml2-dev libssl-dev): building without v2v -i ova)
endif

# bzip2 (dmg chunks of type UDBZ): no pkg-config file in Debian 12 (see above);
# without it such chunks are refused with a message.
ifneq ($(wildcard /usr/include/bzlib.h),)
FEATURE_CFLAGS += -DHAVE_BZIP2=1
BZIP2_LIBS := -lbz2
else
$(info imgtool: bzlib.h not found (apt-get install libbz2-dev): building without dmg bzip2 chunks)
endif

# Network backends are optional: each is built when its library is there.
ifeq ($(shell $(PKG_CONFIG) --exists libnfs && echo 1),1)
PKGS += libnfs
FEATURE_CFLAGS += -DHAVE_LIBNFS=1
else
$(info imgtool: libnfs not found (apt-get install libnfs-dev): building without nfs:// support)
endif
# libiscsi is dlopen()ed on the first iscsi:// open (backends/iscsi/iscsi_lib.c):
# linked, it loads libibverbs, librdmacm and libnl into every command (~0.9 ms).
ifeq ($(shell $(PKG_CONFIG) --exists libiscsi && echo 1),1)
FEATURE_CFLAGS += -DHAVE_LIBISCSI=1 $(shell $(PKG_CONFIG) --cflags libiscsi)
else
$(info imgtool: libiscsi not found (apt-get install libiscsi-dev): building without iscsi:// support)
endif
# libssh is dlopen()ed on the first ssh:// open (backends/ssh/ssh_lib.c): linked,
# it loads the Kerberos/GSSAPI libraries into every command.
ifeq ($(shell $(PKG_CONFIG) --exists libssh && echo 1),1)
FEATURE_CFLAGS += -DHAVE_LIBSSH=1 $(shell $(PKG_CONFIG) --cflags libssh)
else
$(info imgtool: libssh not found (apt-get install libssh-dev): building without ssh:// support)
endif
# Debian 12's librbd-dev ships no .pc file.  Its headers are needed to build
# rbd: support, but librbd/librados are dlopen()ed on the first rbd: open
# (backends/rbd/rbd_lib.c): linking them would cost every command ~15 ms of
# start-up loading libceph-common, boost and libstdc++.
ifneq ($(wildcard /usr/include/rbd/librbd.h),)
FEATURE_CFLAGS += -DHAVE_LIBRBD=1
else
$(info imgtool: librbd not found (apt-get install librbd-dev): building without rbd: support)
endif

# inspect, customize and sysprep need libguestfs (and libcrypt for password hashes).
# libguestfs is dlopen()ed by guest/guest_dl.c: linked, it would load libvirt,
# glib, ICU... (~50 libraries, ~60 ms) into every command.
ifeq ($(shell $(PKG_CONFIG) --exists libguestfs && echo 1),1)
FEATURE_CFLAGS += -DHAVE_LIBGUESTFS=1 $(shell $(PKG_CONFIG) --cflags libguestfs)
GUESTFS_LIBS := -lcrypt
ifeq ($(SANITIZE),1)
# ASan intercepts the xdr functions libguestfs calls from libtirpc, but resolves its
# interceptors at start-up only: a libtirpc arriving later by dlopen() leaves them
# NULL (a crash in guestfs_launch).  Load it at start-up in sanitizer builds.
GUESTFS_LIBS += -Wl,--no-as-needed -ltirpc -Wl,--as-needed
endif
else
$(info imgtool: libguestfs not found (apt-get install libguestfs-dev): building without inspect/customize/sysprep)
endif

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS))
CUNIT_CFLAGS := $(shell $(PKG_CONFIG) --cflags cunit 2>/dev/null)
CUNIT_LIBS := $(shell $(PKG_CONFIG) --libs cunit 2>/dev/null || echo -lcunit)

# shared library: every object is compiled position-independent once and goes
# into both libimgtool.a (the binary, the tests) and libimgtool.so.0.  The
# binary is a PIE anyway (Debian's default), and -fno-semantic-interposition keeps
# calls between the library's own functions direct.  Measured against non-PIC
# objects: convert/compare/check timings within noise, the same start-up; a
# second set of objects would double the build.
PIC_CFLAGS := -fPIC -fno-semantic-interposition

WARN := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes
ifeq ($(WERROR),1)
WARN += -Werror
endif
OPT ?= -O2 -g
CFLAGS_ALL := -std=gnu11 $(OPT) $(WARN) -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE -pthread \
	-DIMGTOOL_VERSION_STRING='"$(VERSION)"' \
	-I. $(PIC_CFLAGS) $(FEATURE_CFLAGS) $(PKG_CFLAGS) $(SANFLAGS) $(CPPFLAGS) $(CFLAGS)
LDFLAGS_ALL := -pthread $(SANFLAGS) $(LDFLAGS)
LIBS_ALL := $(PKG_LIBS) $(BZIP2_LIBS) $(GUESTFS_LIBS) $(DL_LIBS) -lm

LIB_SRCS := $(wildcard common/*.c backends/*.c backends/*/*.c formats/*.c formats/*/*.c \
	convert/*.c guest/*.c v2v/*.c v2v/*/*.c migrate/*.c clone/*.c launcher/*.c serve/*.c lib/*.c)
CLI_SRCS := $(wildcard imgtool/*.c)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
TOOL_SRCS := $(wildcard tests/bad-input/*.c tests/crash/*.c bench/*.c)

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
TOOL_BINS := $(TOOL_SRCS:%.c=$(BUILD)/%)

LIBA := $(BUILD)/libimgtool.a

# every folder with a run.sh under tests/ is a suite, run by make check-FOLDER
SUITES := $(patsubst tests/%/run.sh,%,$(wildcard tests/*/run.sh))

.PHONY: all install install-lib install-man install-completion man deb deps check $(SUITES:%=check-%) bench demo clean
.PHONY: fuzz fuzz-build fuzz-corpus check-fuzz

all: $(BIN) $(LIBA) libimgtool.a

libimgtool.a: $(LIBA)
ifneq ($(BUILD),build-asan)
	cp $(LIBA) libimgtool.a
endif

# Objects depend on the flags they were built with: a library found (or lost)
# since the last build changes FEATURE_CFLAGS and must rebuild everything.
FLAGS_STAMP := $(BUILD)/.cflags
$(FLAGS_STAMP): FORCE
	@mkdir -p $(BUILD)
	@echo '$(CFLAGS_ALL)' | cmp -s - $@ || echo '$(CFLAGS_ALL)' > $@

.PHONY: FORCE
FORCE:

$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(LIBA): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJS) $(LIBA)
	$(CC) $(LDFLAGS_ALL) -o $@ $(CLI_OBJS) $(LIBA) $(LIBS_ALL)

# shared library: libimgtool.so.0 (lib/: the public API of include/imgtool/imgtool.h)
# exports only imgtool_* (lib/libimgtool.map).  It is linked from lib/'s objects
# and libimgtool.a, so only the archive members the API reaches go in (no guest/,
# v2v/, launcher/, serve/).  The binary links libimgtool.a: the version script hides
# the internals the CLI calls, and static linking spares every command the
# dynamic relocations (start-up latency, see the dlopen notes above).
SONAME := libimgtool.so.0
SOLIB := $(BUILD)/libimgtool.so.$(VERSION)
PCFILE := $(BUILD)/imgtool.pc
API_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard lib/*.c))
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include

all tools: $(SOLIB) $(PCFILE)

$(SOLIB): $(API_OBJS) $(LIBA) lib/libimgtool.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/libimgtool.map \
		-Wl,--no-undefined -Wl,--as-needed $(LDFLAGS_ALL) -o $@ $(API_OBJS) $(LIBA) $(LIBS_ALL)
	ln -sf $(notdir $@) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/libimgtool.so

# rewritten when PREFIX, LIBDIR or INCLUDEDIR change (make install PREFIX=/usr)
PC_STAMP := $(BUILD)/.pcdirs
$(PC_STAMP): FORCE
	@mkdir -p $(BUILD)
	@echo '$(PREFIX) $(LIBDIR) $(INCLUDEDIR) $(VERSION)' | cmp -s - $@ || \
		echo '$(PREFIX) $(LIBDIR) $(INCLUDEDIR) $(VERSION)' > $@

$(PCFILE): lib/imgtool.pc.in $(PC_STAMP)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

install-lib: $(SOLIB) $(PCFILE)
	install -D -m 0644 $(SOLIB) $(DESTDIR)$(LIBDIR)/$(notdir $(SOLIB))
	ln -sf $(notdir $(SOLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libimgtool.so
	install -D -m 0644 include/imgtool/imgtool.h $(DESTDIR)$(INCLUDEDIR)/imgtool/imgtool.h
	install -D -m 0644 $(PCFILE) $(DESTDIR)$(LIBDIR)/pkgconfig/imgtool.pc

# man pages: docs/man/NAME.SECTION.scd -> build/man/NAME.SECTION (scdoc)
MAN_SRCS := $(wildcard docs/man/*.scd)
MAN_PAGES := $(MAN_SRCS:docs/man/%.scd=$(BUILD)/man/%)
MANDIR ?= $(PREFIX)/share/man
HAVE_SCDOC := $(if $(shell which scdoc 2>/dev/null),1)

man: $(MAN_PAGES)
ifeq ($(HAVE_SCDOC),1)
all tools: man
else
$(info imgtool: scdoc not found (apt-get install scdoc): building without man pages)
endif

$(BUILD)/man/%: docs/man/%.scd
	@mkdir -p $(dir $@)
	@command -v scdoc >/dev/null || { echo "scdoc not found (apt-get install scdoc)"; exit 1; }
	scdoc < $< > $@

install-man: $(MAN_PAGES)
	for m in $(MAN_PAGES); do \
		s=$${m##*.}; install -D -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/$${m##*/} || exit 1; \
	done

# shell completion
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions

install-completion:
	install -D -m 0644 completion/imgtool.bash $(DESTDIR)$(BASHCOMPDIR)/imgtool

# packaging: make deb builds imgtool, libimgtool0 and libimgtool-dev (debian/) into
# build/deb/.  dpkg-buildpackage builds in the tree it is given and writes to its
# parent, so it runs on a copy of the sources in build/deb/src: the build/ of
# this tree is left alone.
DEB_DIR := build/deb
DEB_JOBS ?= 2

deb:
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	tar -c --exclude=./build --exclude=./build-asan --exclude=./.git \
		--exclude=./libimgtool.a . | tar -x -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && dpkg-buildpackage -us -uc -b -j$(DEB_JOBS)
	rm -rf $(DEB_DIR)/src
	ls -l $(DEB_DIR)/*.deb

$(BUILD)/tests/unit/%: tests/unit/%.c tests/unit/unit.h $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CUNIT_CFLAGS) -o $@ $< $(LIBA) $(CUNIT_LIBS) $(LIBS_ALL) $(LDFLAGS_ALL)

$(BUILD)/tests/%: tests/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBA) $(LIBS_ALL) $(LDFLAGS_ALL)

$(BUILD)/bench/%: bench/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBA) $(LIBS_ALL) $(LDFLAGS_ALL)

install: $(BIN) install-lib install-man install-completion
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/imgtool

deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "all Debian packages present"; fi

tools: $(BIN) $(UNIT_BINS) $(TOOL_BINS)

check: tools man
	tests/run-all.sh $(BUILD)

$(SUITES:%=check-%): check-%: tools
	tests/$*/run.sh $(BUILD)



# ---- in-tree fuzzing (fuzz/): one libFuzzer harness per format and per parser of
# outside text, built with clang under ASan+UBSan into build-fuzz/.  fuzz/run.sh
# runs them (see its header); the seeds come from fuzz/make-corpus.sh.
FUZZ_CC ?= clang
FUZZ_BUILD := build-fuzz
FUZZ_CFLAGS := -std=gnu11 -O1 -g -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE -pthread -I. \
	$(FEATURE_CFLAGS) $(PKG_CFLAGS) -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer -fsanitize=fuzzer-no-link
FUZZ_FORMATS := qcow2 vmdk vpc vhdx raw dmg cloop bochs vdi qcow qed parallels
FUZZ_PARSERS := vmdk_desc vmx ovf ova nbd
FUZZ_BINS := $(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZ_FORMATS) $(FUZZ_PARSERS))
# lib/ (the shared library's API) is no harness's business
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(filter-out lib/%,$(LIB_SRCS)))
FUZZ_SECONDS ?= 60
# CI's share (issue 14): 30 s a harness; fuzz/run.sh gives the one-table formats a third
CHECK_FUZZ_SECONDS ?= 30

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/libimgtool.a: $(FUZZ_LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

# a format harness is fuzz/fuzz_image.c built for that format
$(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZ_FORMATS)): $(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_image.c \
		fuzz/fuzz_util.c fuzz/fuzz_util.h $(FUZZ_BUILD)/libimgtool.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -DFUZZ_FORMAT='"$*"' -o $@ \
		fuzz/fuzz_image.c fuzz/fuzz_util.c $(FUZZ_BUILD)/libimgtool.a $(LIBS_ALL)

$(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZ_PARSERS)): $(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c \
		fuzz/fuzz_util.c fuzz/fuzz_util.h $(FUZZ_BUILD)/libimgtool.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ \
		$< fuzz/fuzz_util.c $(FUZZ_BUILD)/libimgtool.a $(LIBS_ALL)

fuzz-build: $(FUZZ_BINS)

fuzz-corpus:
	rm -rf $(FUZZ_BUILD)/corpus
	fuzz/make-corpus.sh $(FUZZ_BUILD)/corpus

$(FUZZ_BUILD)/corpus/nbd/go-simple:
	fuzz/make-corpus.sh $(FUZZ_BUILD)/corpus

fuzz: fuzz-build $(FUZZ_BUILD)/corpus/nbd/go-simple
	fuzz/run.sh fuzz $(FUZZ_SECONDS) $(FUZZ_BUILD)

check-fuzz: fuzz-build $(FUZZ_BUILD)/corpus/nbd/go-simple
	fuzz/run.sh check $(CHECK_FUZZ_SECONDS) $(FUZZ_BUILD)


bench: tools
	bench/run.sh $(BUILD)

demo: deps $(BIN)
	./demo.sh

clean:
	rm -rf build build-asan build-fuzz libimgtool.a

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(FUZZ_LIB_OBJS:.o=.d)
