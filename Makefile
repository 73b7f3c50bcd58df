# imgtool - build, test and benchmark.
#
#   make            libimgtool.a and build/imgtool (make install: /usr/local/bin)
#   make deps       install every Debian package the build, tests and main job need
#   make check      build and run every test suite (unit, interop, bad-input, crash)
#   make bench      ratios against qemu-img (see bench/README.md)
#   make demo       the main job on a generated example image
#   make SANITIZE=1 ...   the same under AddressSanitizer/UBSan (objects in build-asan/)
#   make WERROR=1 ...     warnings are errors (CI)

CC ?= cc
PKG_CONFIG ?= pkg-config

DEBIAN_PACKAGES = build-essential pkg-config zlib1g-dev libzstd-dev libjson-c-dev \
	libcunit1-dev libdeflate-dev qemu-utils python3 libisal-dev
# network backends (libraries) and the real servers tests/backends/ starts
DEBIAN_PACKAGES += libnfs-dev libiscsi-dev librbd-dev librados-dev qemu-block-extra \
	nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils tgt libiscsi-bin \
	ceph-mon ceph-osd ceph-common uuid-runtime iproute2 bc
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
# the phony Windows guest fixture: hivexregedit fills its registry hives, ntfs-3g
# gives the appliance mkntfs
DEBIAN_PACKAGES += libwin-hivex-perl ntfs-3g

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

PKGS := zlib libzstd json-c
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

# v2v -i ova parses the OVF with libxml2 and checks the manifest's SHA sums with
# libcrypto; without them -i ova is refused with a message.  Both are dlopen()ed
# by v2v/input/ova_dl.c: linked, they add ICU and libstdc++ to every command.
ifeq ($(shell $(PKG_CONFIG) --exists libxml-2.0 libcrypto && echo 1),1)
FEATURE_CFLAGS += -DHAVE_OVA=1 $(shell $(PKG_CONFIG) --cflags libxml-2.0 libcrypto)
DL_LIBS := -ldl
else
$(info imgtool: libxml2 or libcrypto not found (apt-get install libxml2-dev libssl-dev): building without v2v -i ova)
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
DL_LIBS := -ldl
else
$(info imgtool: libiscsi not found (apt-get install libiscsi-dev): building without iscsi:// support)
endif
# Debian 12's librbd-dev ships no .pc file.  Its headers are needed to build
# rbd: support, but librbd/librados are dlopen()ed on the first rbd: open
# (backends/rbd/rbd_lib.c): linking them would cost every command ~15 ms of
# start-up loading libceph-common, boost and libstdc++.
ifneq ($(wildcard /usr/include/rbd/librbd.h),)
FEATURE_CFLAGS += -DHAVE_LIBRBD=1
DL_LIBS := -ldl
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
DL_LIBS := -ldl
else
$(info imgtool: libguestfs not found (apt-get install libguestfs-dev): building without inspect/customize/sysprep)
endif

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS))
CUNIT_CFLAGS := $(shell $(PKG_CONFIG) --cflags cunit 2>/dev/null)
CUNIT_LIBS := $(shell $(PKG_CONFIG) --libs cunit 2>/dev/null || echo -lcunit)

WARN := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes
ifeq ($(WERROR),1)
WARN += -Werror
endif
OPT ?= -O2 -g
CFLAGS_ALL := -std=gnu11 $(OPT) $(WARN) -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE -pthread \
	-I. $(FEATURE_CFLAGS) $(PKG_CFLAGS) $(SANFLAGS) $(CFLAGS)
LDFLAGS_ALL := -pthread $(SANFLAGS) $(LDFLAGS)
LIBS_ALL := $(PKG_LIBS) $(GUESTFS_LIBS) $(DL_LIBS) -lm

LIB_SRCS := $(wildcard common/*.c backends/*.c backends/*/*.c formats/*.c formats/*/*.c \
	convert/*.c guest/*.c v2v/*.c v2v/*/*.c launcher/*.c serve/*.c clone/*.c)
CLI_SRCS := $(wildcard imgtool/*.c)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
TOOL_SRCS := $(wildcard tests/bad-input/*.c tests/crash/*.c bench/*.c)

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
TOOL_BINS := $(TOOL_SRCS:%.c=$(BUILD)/%)

LIBA := $(BUILD)/libimgtool.a

.PHONY: all install deps check check-unit check-interop check-bad-input check-crash check-backends check-launcher check-guest check-clone check-v2v check-windows check-serve bench demo clean

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

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CUNIT_CFLAGS) -o $@ $< $(LIBA) $(CUNIT_LIBS) $(LIBS_ALL) $(LDFLAGS_ALL)

$(BUILD)/tests/%: tests/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBA) $(LIBS_ALL) $(LDFLAGS_ALL)

$(BUILD)/bench/%: bench/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBA) $(LIBS_ALL) $(LDFLAGS_ALL)

install: $(BIN)
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

check: tools
	tests/run-all.sh $(BUILD)

check-unit: tools
	tests/unit/run.sh $(BUILD)

check-interop: tools
	tests/interop/run.sh $(BUILD)

check-bad-input: tools
	tests/bad-input/run.sh $(BUILD)

check-crash: tools
	tests/crash/run.sh $(BUILD)

check-backends: tools
	tests/backends/run.sh $(BUILD)

check-launcher: tools
	tests/launcher/run.sh $(BUILD)

check-guest: tools
	tests/guest/run.sh $(BUILD)

check-clone: tools
	tests/clone/run.sh $(BUILD)

check-v2v: tools
	tests/v2v/run.sh $(BUILD)

check-windows: tools
	tests/windows/run.sh $(BUILD)

check-serve: tools
	tests/serve/run.sh $(BUILD)

bench: tools
	bench/run.sh $(BUILD)

demo: deps $(BIN)
	./demo.sh

clean:
	rm -rf build build-asan libimgtool.a

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d)
