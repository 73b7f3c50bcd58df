# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/packaging/test_deb.sh BUILD_DIR - `make deb` builds imgtool, libimgtool0 and
# libimgtool-dev (debian/, dpkg-buildpackage -us -uc -b) into build/deb/; lintian
# finds no error; the optional features are not in Depends; apt-get installs the
# packages here; imgtool -V, man -w, the bash completion, and a program built
# with pkg-config against the installed library work; dpkg --purge removes them.
# Other suites are not disturbed: they run build/imgtool, not /usr/bin/imgtool.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/docs/lib.sh"
need_tools packaging dpkg-buildpackage dh lintian apt-get dpkg-deb man qemu-img cc pkg-config
if [ "$(id -u)" != 0 ]; then
	echo "packaging: installs packages: run as root"
	echo "0 passed, 1 failed"
	exit 1
fi
tmp=$(mktemp -d)
debs=$top/build/deb
pkgs="libimgtool-dev imgtool libimgtool0"
installed_here=
cleanup() {
	[ -n "$installed_here" ] && dpkg --purge $pkgs >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

start=$(date +%s)
if make -s -C "$top" deb >"$tmp/deb.log" 2>&1; then
	ok "make deb ($(($(date +%s) - start)) s)"
else
	ko "make deb"
	tail -n 30 "$tmp/deb.log"
	exit 0
fi
for p in imgtool libimgtool0 libimgtool-dev; do
	f=$(ls "$debs"/${p}_*.deb 2>/dev/null | head -n 1)
	check "build/deb/${p}_*.deb built" test -n "$f"
done
deb() { ls "$debs"/${1}_*.deb | head -n 1; }

lintian "$debs"/imgtool_*.changes >"$tmp/lintian.log" 2>&1
grep '^W: ' "$tmp/lintian.log" | sed 's/^/  lintian /'
errors=$(grep -c '^E: ' "$tmp/lintian.log")
[ "$errors" = 0 ] && ok "lintian: no errors ($(grep -c '^W: ' "$tmp/lintian.log") warnings)" ||
	{ ko "lintian: $errors errors"; grep '^E: ' "$tmp/lintian.log"; }

field() { dpkg-deb -f "$(deb "$1")" "$2"; }
for p in imgtool libimgtool0; do
	depends=$(field "$p" Depends)
	# libcrypto (libssl3) is a real dependency: checksum and migrate's verification
	# hash with it, and it is on every Debian system anyway
	echo "$depends" | grep -qE 'guestfs|iscsi|rbd|rados|libssh|xml2|qemu' &&
		ko "$p: no optional feature in Depends: $depends" ||
		ok "$p: no optional feature in Depends"
done
for r in libguestfs0 libiscsi7 librbd1 libssh-4; do
	field imgtool Recommends | grep -qw "$r" && ok "imgtool Recommends $r" || ko "imgtool Recommends $r"
done
check "libimgtool-dev depends on libimgtool0 of the same version" \
	sh -c "dpkg-deb -f '$(deb libimgtool-dev)' Depends | grep -q 'libimgtool0 (= '"

contents() { dpkg-deb -c "$(deb "$1")" | awk '{ print $6 }'; }
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
for f in ./usr/bin/imgtool ./usr/share/man/man1/imgtool.1.gz ./usr/share/man/man1/imgtool-convert.1.gz \
	./usr/share/man/man7/imgtool-urls.7.gz ./usr/share/bash-completion/completions/imgtool; do
	contents imgtool | grep -qx "$f" && ok "imgtool ships $f" || ko "imgtool ships $f"
done
check "imgtool ships a man page per command" test \
	"$(contents imgtool | grep -c '^./usr/share/man/man1/imgtool-.*\.1\.gz$')" = \
	"$(main_commands | wc -l)"
contents libimgtool0 | grep -qx "./usr/lib/$multiarch/libimgtool.so.0" &&
	ok "libimgtool0 ships /usr/lib/$multiarch/libimgtool.so.0" || ko "libimgtool0 ships libimgtool.so.0"
for f in ./usr/include/imgtool/imgtool.h ./usr/lib/$multiarch/libimgtool.so \
	./usr/lib/$multiarch/pkgconfig/imgtool.pc; do
	contents libimgtool-dev | grep -qx "$f" && ok "libimgtool-dev ships $f" || ko "libimgtool-dev ships $f"
done

# install them on this machine (refusing to replace an imgtool installed otherwise)
if dpkg-query -W -f='${Status}' imgtool 2>/dev/null | grep -q 'ok installed'; then
	ko "imgtool is already installed on this machine: not touching it"
	exit 0
fi
installed_here=1
if apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 \
	"$(deb imgtool)" "$(deb libimgtool0)" "$(deb libimgtool-dev)" >"$tmp/apt.log" 2>&1; then
	ok "apt-get install ./imgtool_*.deb ./libimgtool0_*.deb ./libimgtool-dev_*.deb"
else
	ko "apt-get install the three packages"
	tail -n 20 "$tmp/apt.log"
	exit 0
fi
check "/usr/bin/imgtool -V" sh -c "/usr/bin/imgtool -V | grep -q '^imgtool version'"
check "man -w imgtool-convert: /usr/share/man/man1/imgtool-convert.1.gz" \
	test "$(man -w imgtool-convert)" = /usr/share/man/man1/imgtool-convert.1.gz
check "man -w 7 imgtool-urls" test "$(man -w 7 imgtool-urls)" = /usr/share/man/man7/imgtool-urls.7.gz
check "bash-completion loads imgtool's completion on demand" bash -c \
	'. /usr/share/bash-completion/bash_completion && __load_completion imgtool &&
	 [ "$(complete -p imgtool)" = "complete -F _imgtool imgtool" ]'
check "pkg-config finds the installed imgtool.pc" test "$(echo $(pkg-config --libs imgtool))" = "-limgtool"
if cc -Wall -o "$tmp/img-info" /usr/share/doc/libimgtool-dev/examples/img-info.c \
	$(pkg-config --cflags --libs imgtool); then
	ok "the packaged example builds against the packaged library"
	qemu-img create -q -f qcow2 "$tmp/x.qcow2" 32M
	check "it runs on a qemu-img qcow2" sh -c "'$tmp/img-info' '$tmp/x.qcow2' | grep -qx 'virtual size: 33554432'"
else
	ko "the packaged example builds against the packaged library"
fi
dpkg --purge $pkgs >"$tmp/purge.log" 2>&1 && ok "dpkg --purge" || { ko "dpkg --purge"; cat "$tmp/purge.log"; }
installed_here=
check "/usr/bin/imgtool gone" test ! -e /usr/bin/imgtool
check "libimgtool.so.0 gone" test ! -e "/usr/lib/$multiarch/libimgtool.so.0"
exit 0
