#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# fuzz/run.sh MODE SECONDS [FUZZ_BUILD] [HARNESS...] - run the libFuzzer harnesses
# one after the other, each for SECONDS, one "PASS"/"FAIL" line per harness with
# its executions, then "N passed, N failed".
#
#   MODE check  (make check-fuzz): the seeds in FUZZ_BUILD/corpus/NAME are copied to
#               a scratch corpus that is thrown away, so every run starts alike.
#   MODE fuzz   (make fuzz): new inputs accumulate in FUZZ_BUILD/live/NAME, so
#               later runs go deeper.
# A crash, sanitizer report, leak, timeout (a single input running FUZZ_TIMEOUT s,
# default 25) or allocation above FUZZ_MALLOC_MB (default 1024: no header may ask
# for more) fails the harness; the input is kept as FUZZ_BUILD/crashes/NAME/* and
# the report's first lines are shown.  Each harness's log is FUZZ_BUILD/logs/NAME.log
# (libFuzzer's own lines and sanitizer reports; -close_fd_mask=3 silences the
# per-cluster chatter of check on stdout/stderr, which would fill gigabytes).
# Every crash found belongs in tests/bad-input/ with its fix.
set -u
mode=${1:?usage: run.sh check|fuzz SECONDS [FUZZ_BUILD] [HARNESS...]}
secs=${2:?usage: run.sh check|fuzz SECONDS [FUZZ_BUILD] [HARNESS...]}
fb=${3:-build-fuzz}
shift 3 2>/dev/null || shift $#
case $mode in check|fuzz) ;; *) echo "run.sh: MODE is check or fuzz" >&2; exit 2 ;; esac

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for b in "$fb"/fuzz_*; do
		[ -x "$b" ] && names+=("${b##*/fuzz_}")
	done
fi
if [ ${#names[@]} -eq 0 ]; then
	echo "fuzz: no harnesses in $fb (make fuzz-build)"
	echo "0 passed, 1 failed"
	exit 1
fi

passed=0
failed=0
mkdir -p "$fb/logs"
for n in "${names[@]}"; do
	bin=$fb/fuzz_$n seeds=$fb/corpus/$n log=$fb/logs/$n.log
	if ! [ -x "$bin" ] || ! [ -d "$seeds" ]; then
		echo "FAIL fuzz_$n: harness or seeds missing ($bin, $seeds)"
		failed=$((failed + 1))
		continue
	fi
	if [ "$mode" = check ]; then
		live=$(mktemp -d /tmp/imgtool-fuzz-corpus.XXXXXX)
	else
		live=$fb/live/$n
		mkdir -p "$live"
	fi
	mkdir -p "$fb/crashes/$n"
	# a format that is one header and one table (vdi, qcow v1, parallels, qed) is
	# covered in a third of the time: check-fuzz stays within CI's budget
	hsecs=$secs
	case $mode:$n in check:vdi|check:qcow|check:parallels|check:qed) hsecs=$(( (secs + 2) / 3 )) ;; esac
	# inputs as large as the largest seed (a VHDX needs megabytes), at least 64 KiB
	maxlen=$(find "$seeds" -type f -printf '%s\n' | sort -n | tail -n 1)
	[ "${maxlen:-0}" -lt 65536 ] && maxlen=65536
	"$bin" -max_total_time="$hsecs" -max_len="$maxlen" -timeout="${FUZZ_TIMEOUT:-25}" \
		-rss_limit_mb=2048 -malloc_limit_mb="${FUZZ_MALLOC_MB:-1024}" \
		-close_fd_mask=3 -handle_xfsz=0 -print_final_stats=1 -artifact_prefix="$fb/crashes/$n/" \
		"$live" "$seeds" >"$log" 2>&1
	rc=$?
	[ "$mode" = check ] && rm -rf "$live"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		echo "PASS fuzz_$n: ${execs:-?} executions in ${hsecs} s"
		passed=$((passed + 1))
	else
		echo "FAIL fuzz_$n: exit $rc after ${execs:-?} executions (log $log)"
		grep -E '^==[0-9]+==ERROR|SUMMARY|runtime error|^artifact_prefix|Test unit written' "$log" |
			head -n 6 | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
