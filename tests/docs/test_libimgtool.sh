# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/docs/test_libimgtool.sh BUILD_DIR - libimgtool.so.0: it exports only the
# imgtool_* functions of include/imgtool/imgtool.h (version IMGTOOL_0); `make
# install DESTDIR=... PREFIX=/usr` installs it with the binary, header, imgtool.pc,
# man pages and completion; examples/img-info.c and tests/docs/lib_roundtrip.c
# build against that installed copy with pkg-config and run on images qemu-img
# made, their results checked against qemu-img.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/docs/lib.sh"
need_tools docs nm readelf pkg-config qemu-img qemu-io cc make
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dir=$(dirname "$IMGTOOL")
so=$(ls "$dir"/libimgtool.so.0.* 2>/dev/null | head -n 1)
if [ -z "$so" ]; then
	ko "libimgtool.so.0.* built in $dir (make)"
	exit 0
fi

exported=$(nm -D --defined-only "$so" | awk '{ print $3 }' | sed 's/@.*//' | sort)
others=$(echo "$exported" | grep -v '^imgtool_' | grep -vx IMGTOOL_0)
[ -z "$others" ] && ok "only imgtool_* exported" || ko "only imgtool_* exported; also: $(echo $others)"
declared=$(grep -oE '\bimgtool_[a-z_]+\(' "$top/include/imgtool/imgtool.h" | tr -d '(' | sort -u)
expect_same() {
	[ "$2" = "$3" ] && ok "$1" || { ko "$1"; echo "  got:  $(echo $2)"; echo "  want: $(echo $3)"; }
}
expect_same "the exports are the header's functions" "$(echo "$exported" | grep '^imgtool_')" "$declared"
nm -D --defined-only "$so" | grep ' imgtool_' | grep -qv '@@IMGTOOL_0$' &&
	ko "every export has version IMGTOOL_0" || ok "every export has version IMGTOOL_0"
check "SONAME libimgtool.so.0" sh -c "readelf -d '$so' | grep -q 'Library soname: \[libimgtool.so.0\]'"
# the optional features stay out of the library's dependencies
needed=$(readelf -d "$so" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
# (libcrypto is needed: imgtool_checksum's SHA-256)
echo "$needed" | grep -qE 'guestfs|rbd|rados|iscsi|xml2' &&
	ko "no guestfs/rbd/iscsi/xml2 in NEEDED: $(echo $needed)" ||
	ok "no guestfs/rbd/iscsi/xml2 in NEEDED"

# make install into a staging root, as a package build does
dest=$tmp/root
# a sanitizer build's library needs its runtime in the programs that load it
sanitize=
san_cflags=
if [ "${build##*/}" = build-asan ]; then
	sanitize=SANITIZE=1
	san_cflags="-fsanitize=address,undefined"
fi
if make -s -C "$top" install DESTDIR="$dest" PREFIX=/usr $sanitize >"$tmp/install.log" 2>&1; then
	ok "make install DESTDIR PREFIX=/usr"
else
	ko "make install DESTDIR PREFIX=/usr"
	tail -n 20 "$tmp/install.log"
	exit 0
fi
for f in bin/imgtool lib/libimgtool.so.0 lib/libimgtool.so include/imgtool/imgtool.h \
	lib/pkgconfig/imgtool.pc share/man/man1/imgtool.1 share/man/man1/imgtool-convert.1 \
	share/man/man7/imgtool-urls.7 share/man/man7/imgtool-formats.7 \
	share/bash-completion/completions/imgtool; do
	check "installed /usr/$f" test -e "$dest/usr/$f"
done
check "libimgtool.so.0 -> the versioned file" test "$(readlink "$dest/usr/lib/libimgtool.so.0")" = "${so##*/}"
check "libimgtool.so -> libimgtool.so.0" test "$(readlink "$dest/usr/lib/libimgtool.so")" = libimgtool.so.0
check "installed imgtool -V" sh -c "'$dest/usr/bin/imgtool' -V | grep -q '^imgtool version'"

export PKG_CONFIG_PATH=$dest/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
flags=$(echo $(pkg-config --cflags --libs imgtool))
expect_same "pkg-config --cflags --libs imgtool" "$flags" \
	"-I$dest/usr/include -L$dest/usr/lib -limgtool"
expect_same "imgtool.pc's version is the binary's" "$(pkg-config --modversion imgtool)" \
	"$("$IMGTOOL" -V | sed -n 's/^imgtool version //p')"
cc -Wall -Werror $san_cflags -o "$tmp/img-info" "$top/examples/img-info.c" $flags &&
	ok "examples/img-info.c builds with pkg-config" || ko "examples/img-info.c builds with pkg-config"
cc -Wall -Werror $san_cflags -o "$tmp/roundtrip" "$top/tests/docs/lib_roundtrip.c" $flags &&
	ok "lib_roundtrip.c builds with pkg-config" || ko "lib_roundtrip.c builds with pkg-config"
export LD_LIBRARY_PATH=$dest/usr/lib
check "img-info loads the installed libimgtool.so.0" \
	sh -c "ldd '$tmp/img-info' | grep -q '$dest/usr/lib/libimgtool.so.0'"

# an overlay qemu-img made on a base with data, with 3 MiB written in the overlay
qemu-img create -q -f qcow2 "$tmp/base.qcow2" 64M &&
	qemu-io -c 'write -P 7 0 1M' "$tmp/base.qcow2" >/dev/null &&
	qemu-img create -q -f qcow2 -o cluster_size=65536 -b base.qcow2 -F qcow2 "$tmp/top.qcow2" &&
	qemu-io -c 'write -P 1 4M 3M' "$tmp/top.qcow2" >/dev/null ||
	ko "qemu-img made the images"
out=$("$tmp/img-info" "$tmp/top.qcow2" 2>&1)
rc=$?
check "img-info runs (exit 0)" test "$rc" = 0
want="library: $(pkg-config --modversion imgtool)
format: qcow2
virtual size: $(qemu-img info --output=json "$tmp/top.qcow2" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p')
cluster size: 65536
backing file: base.qcow2
data bytes: $((4 << 20))
check: 0 corruptions, 0 leaks"
expect_same "img-info's output (sizes as qemu-img's; data = 1 MiB base + 3 MiB top)" "$out" "$want"
qemu-img create -q -f raw "$tmp/plain.raw" 1M
check "img-info on raw: check not supported" sh -c "'$tmp/img-info' '$tmp/plain.raw' | grep -qx 'check: not supported'"
out=$("$tmp/img-info" "$tmp/missing.qcow2" 2>&1)
rc=$?
check "img-info on a missing file: exit 1, one line naming it" \
	test "$rc" = 1 -a "$(echo "$out" | wc -l)" = 1 -a -n "$(echo "$out" | grep -F "$tmp/missing.qcow2")"

"$tmp/roundtrip" "$tmp" | sed 's/^ok /PASS library: /; s/^FAIL /FAIL library: /'
check "qemu-img check on the library's qcow2" qemu-img check -q "$tmp/a.qcow2"
check "qemu-img compare: the library's vmdk equals its qcow2" \
	qemu-img compare -q -f qcow2 -F vmdk "$tmp/a.qcow2" "$tmp/b.vmdk"
check "qemu-io reads the pattern the library wrote" \
	sh -c "qemu-io -f qcow2 -c 'read -P 0x5a 1M 64k' '$tmp/a.qcow2' | grep -q 'read 65536/65536'"
exit 0
