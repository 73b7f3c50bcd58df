#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/ssh.sh BUILD_DIR - a 2 GiB raw image read over ssh:// on loopback:
# `imgtool convert` against `qemu-img convert` (qemu-block-extra's ssh driver)
# reading the same URL into a local raw file, alternately, ROUNDS times each
# (default 1).  Both read every byte (SFTP cannot report holes) from the private
# sshd of tests/servers/lib.sh (start_sshd), in the servers' network namespace.
# Prints the median times and the ratio imgtool/qemu-img (target in
# bench/README.md: <= 0.7).  Not a test: exits 0 unless a run fails.
#
# Environment: BENCH_SIZE (default 2G), ROUNDS (default 1), BENCH_DIR (default /var/tmp).
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
IMGTOOL=$(cd "$top" && cd "$build" && pwd)/imgtool
[ -x "$IMGTOOL" ] || { echo "bench/ssh.sh: no $IMGTOOL; run make first"; exit 1; }
if [ -z "${IMGTOOL_SRV_NS:-}" ]; then
	SERVERS=sshd exec "$top/tests/servers/with-servers.sh" "$0" "$build"
fi
size=${BENCH_SIZE:-2G} rounds=${ROUNDS:-1}
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/imgtool-bench-ssh.XXXXXX")
eval "$(ssh-agent -s -a "$W/agent.sock")" >/dev/null
trap 'ssh-agent -k >/dev/null 2>&1; rm -rf "$W"' EXIT
ssh-add -q "$SSH_KEY" 2>/dev/null
src=$SSH_DIR/bench.raw
python3 "$top/fixtures/make-raw.py" "$src" "$size" --layout bench || exit 1
cat "$src" >/dev/null
url="$SSH_URL$src"
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
it=() qm=()
for r in $(seq "$rounds"); do
	rm -f "$W/i.raw" "$W/q.raw"
	t0=$(now)
	"$IMGTOOL" convert -O raw "$url?known-hosts=$SSH_KNOWN_HOSTS" "$W/i.raw" || exit 1
	t1=$(now)
	qemu-img convert -O raw "$url?host_key_check=no" "$W/q.raw" || exit 1
	t2=$(now)
	it+=("$(echo "$t1 - $t0" | bc)") qm+=("$(echo "$t2 - $t1" | bc)")
	[ "$r" = 1 ] && { cmp -s "$src" "$W/i.raw" && echo "imgtool's copy is byte-identical" ||
		echo "imgtool's copy DIFFERS from the source"; }
done
i=$(printf '%s\n' "${it[@]}" | median) q=$(printf '%s\n' "${qm[@]}" | median)
printf 'ssh:// %s raw -> local raw: imgtool %.2f s, qemu-img %.2f s, ratio %.2f (target <= 0.7)\n' \
	"$size" "$i" "$q" "$(echo "$i / $q" | bc -l)"
