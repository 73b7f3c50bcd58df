# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/docs/test_completion.sh BUILD_DIR - completion/imgtool.bash, driven the way
# bash drives it: source it, set COMP_WORDS/COMP_CWORD, call _imgtool, read
# COMPREPLY.  The expected sets come from the binary (--help, -o help) and
# from an image qemu-img made, so the test follows the CLI.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/docs/lib.sh"
need_tools docs qemu-img
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

. "$top/completion/imgtool.bash"
[ "$(complete -p imgtool 2>/dev/null)" = "complete -F _imgtool imgtool" ] &&
	ok "sourcing registers _imgtool for imgtool" || ko "sourcing registers _imgtool for imgtool"

# comp WORD...: the completions of the last word (the binary under test as
# COMP_WORDS[0]), one per line, sorted
comp() {
	COMP_WORDS=("$IMGTOOL" "$@")
	COMP_CWORD=$#
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_imgtool
	[ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}" | sort
}
# comp_at N WORD...: the same for word N (1 = the command) of a longer line
comp_at() {
	local n=$1
	shift
	COMP_WORDS=("$IMGTOOL" "$@")
	COMP_CWORD=$n
	COMPREPLY=()
	_imgtool
	[ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}" | sort
}
# expect NAME GOT WANT: the two sorted lists are equal
expect() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		ko "$1"
		echo "  got:  $(echo $2)"
		echo "  want: $(echo $3)"
	fi
}
lines() { printf '%s\n' "$@" | sort; }

commands=$(main_commands)
expect "imgtool <TAB>: every command of main.c and the global options" \
	"$(comp '')" "$(lines $commands -h --help -V --version)"
expect "imgtool con<TAB>: convert" "$(comp con)" "convert"
expect "imgtool sn<TAB>: snapshot" "$(comp sn)" "snapshot"

for c in $commands; do
	expect "imgtool $c -<TAB>: the options of $c --help" \
		"$(comp "$c" -)" "$(help_options "$("$IMGTOOL" "$c" --help 2>&1)")"
done
expect "imgtool convert --ta<TAB>" "$(comp convert --ta)" "--target-is-zero"

formats=$(lines $("$IMGTOOL" --help | sed -n 's/^Supported formats: //p'))
[ "$(echo "$formats" | wc -l)" -ge 5 ] && ok "--help lists 5+ formats" || ko "--help lists 5+ formats: $formats"
expect "convert -O <TAB>: the formats" "$(comp convert -O '')" "$formats"
expect "convert -f <TAB>: the formats" "$(comp convert -f '')" "$formats"
expect "create -f q<TAB>: qcow, qcow2, qed" "$(comp create -f q)" "$(lines qcow qcow2 qed)"
expect "rebase -F <TAB>: the formats" "$(comp rebase -F '')" "$formats"

for f in $formats; do
	# the read-only formats (dmg, cloop, bochs) have no -o options: -o help is refused
	if "$IMGTOOL" create -f "$f" -o help 2>&1 | grep -q "^imgtool: Format driver '$f' does not support image creation$"; then
		expect "create -f $f -o <TAB>: no options (read-only)" "$(comp create -f "$f" -o '')" help
		continue
	fi
	want=$("$IMGTOOL" create -f "$f" -o help /nonexistent/imgtool-completion | sed -n 's/^  \([a-z0-9_.-]*\)=.*/\1=/p')
	# a read-only format (qcow, parallels: create refuses it) declares no options
	[ -n "$want" ] || "$IMGTOOL" create -q -f "$f" /nonexistent/imgtool-completion 1M 2>&1 |
		grep -q "cannot create" && continue
	[ -n "$want" ] || { ko "create -f $f -o help lists options"; continue; }
	expect "create -f $f -o <TAB>: $f's -o options" "$(comp create -f "$f" -o '')" \
		"$(lines $want help)"
done
qcow2_opts=$(comp create -f qcow2 -o '')
for o in cluster_size= compat= lazy_refcounts= refcount_bits= compression_type=; do
	echo "$qcow2_opts" | grep -qx "$o" && ok "qcow2 -o offers $o" || ko "qcow2 -o offers $o"
done
expect "convert -O qcow2 -o compat=1.1,clu<TAB>: the last item" \
	"$(comp convert -O qcow2 -o compat=1.1,clu)" "compat=1.1,cluster_size="
expect "convert -O raw -o pre<TAB>: raw's, from -O" "$(comp convert -f qcow2 -O raw -o pre)" "preallocation="
expect "measure -O qcow2 -o exte<TAB>" "$(comp measure -O qcow2 -o exte)" "$(lines extended_l2= extent_size_hint=)"
expect "create -f qcow2 -o compat=<TAB>: no names inside a value" "$(comp create -f qcow2 -o compat=)" ""

expect "convert -t <TAB>: cache modes" "$(comp convert -t '')" \
	"$(lines none writeback writethrough directsync unsafe)"
expect "info --output=<TAB>" "$(comp info --output=)" "$(lines human json)"
expect "check -r <TAB>: leaks all" "$(comp check -r '')" "$(lines leaks all)"
expect "launch --bus <TAB>" "$(comp launch --bus '')" "$(lines virtio virtio-scsi sata ide)"
expect "v2v -o <TAB>: the output modes" "$(comp v2v -o '')" "$(lines local libvirt qemu)"
expect "v2v -i <TAB>: the input modes" "$(comp v2v -i '')" "$(lines disk vmx ova)"
expect "resize --preallocation=<TAB>" "$(comp resize --preallocation=)" \
	"$(lines off metadata falloc full)"

# snapshot names, from an image qemu-img made (a name with a space is quoted)
img=$tmp/snap.qcow2
qemu-img create -q -f qcow2 "$img" 16M &&
	qemu-img snapshot -c 'before upgrade' "$img" && qemu-img snapshot -c base "$img" &&
	qemu-img snapshot -c base2 "$img"
check "qemu-img made an image with 3 snapshots" test "$(qemu-img snapshot -l "$img" | grep -c '^[0-9]')" = 3
expect "snapshot -a <TAB> FILE: its snapshots" "$(comp_at 3 snapshot -a '' "$img")" \
	"$(lines 'before\ upgrade' base base2)"
expect "snapshot -d ba<TAB> FILE" "$(comp_at 3 snapshot -d ba "$img")" "$(lines base base2)"
expect "snapshot -f qcow2 -a b<TAB> FILE" "$(comp_at 5 snapshot -f qcow2 -a b "$img")" \
	"$(lines 'before\ upgrade' base base2)"
expect "snapshot -a <TAB> (no file yet): nothing" "$(comp snapshot -a '')" ""
expect "snapshot -c <TAB>: a new name, nothing offered" "$(comp_at 3 snapshot -c '' "$img")" ""

# bitmap names for --merge, from the image or from -b's file (qemu-img made them)
bimg=$tmp/bm.qcow2 bsrc=$tmp/bmsrc.qcow2
qemu-img create -q -f qcow2 "$bimg" 16M && qemu-img bitmap --add "$bimg" 'nightly 1' &&
	qemu-img bitmap --add --disable "$bimg" weekly && qemu-img create -q -f qcow2 "$bsrc" 16M &&
	qemu-img bitmap --add "$bsrc" other
expect "bitmap --merge <TAB> FILE: its bitmaps" "$(comp_at 3 bitmap --merge '' "$bimg" x)" \
	"$(lines 'nightly\ 1' weekly)"
expect "bitmap --merge <TAB> -b SRC FILE: SRC's bitmaps" \
	"$(comp_at 3 bitmap --merge '' -b "$bsrc" "$bimg" x)" "other"
expect "bitmap -F <TAB>: the formats" "$(comp bitmap -b "$bsrc" -F '')" "$formats"

# files: arguments and file-valued options
touch "$tmp/disk-a.qcow2" "$tmp/disk-b.raw"
mkdir "$tmp/outdir"
expect "info <TAB>: files" "$(comp info "$tmp/disk-")" "$(lines "$tmp/disk-a.qcow2" "$tmp/disk-b.raw")"
expect "convert -B <TAB>: files" "$(comp convert -B "$tmp/disk-a")" "$tmp/disk-a.qcow2"
expect "sync --digests-from <TAB>: files" "$(comp sync --digests-from "$tmp/disk-a")" "$tmp/disk-a.qcow2"
expect "sync <TAB>: files" "$(comp sync "$tmp/disk-")" "$(lines "$tmp/disk-a.qcow2" "$tmp/disk-b.raw")"
expect "v2v -os <TAB>: folders only" "$(comp v2v -os "$tmp/")" "$tmp/outdir"
expect "dd <TAB>: the operands" "$(comp dd '')" "$(lines if= of= bs= count= skip=)"
expect "dd if=<TAB>: files" "$(comp dd "if=$tmp/disk-a")" "if=$tmp/disk-a.qcow2"
expect "dd bs=<TAB>: nothing" "$(comp dd bs=)" ""
expect "bench -i <TAB>: the aio modes" "$(comp bench -i '')" "$(lines native threads io_uring)"
expect "bench -c <TAB>: nothing" "$(comp bench -c '')" ""
expect "bench --pattern=<TAB>: nothing" "$(comp bench --pattern=)" ""
expect "not a command: nothing" "$(comp no-such-command '')" ""
exit 0
