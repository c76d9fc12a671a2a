#!/usr/bin/env bash
# Build every fuzz target with clang and libFuzzer, out of the tree in the
# folder given, and run each for a bounded time.
#   tests/fuzz/run-fuzz.sh OUTDIR [TARGET...]
#   FUZZ_SECONDS   time per target (default 60)
# A crash or leak fails its target; its input is copied into the target's
# corpus (tests/fuzz/corpus/T/crash-...) so that make check replays it from
# then on.  Prints one TAP line per target with execs and coverage, then
# "N passed, N failed"; exits non-zero when any target failed.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: run-fuzz.sh OUTDIR [TARGET...]}
shift
secs=${FUZZ_SECONDS:-60}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(http route body ipc record cursor config client tools runmsg mcp)

mkdir -p "$out"
out=$(cd "$out" && pwd)
[ -x "$top/configure" ] || (cd "$top" && ./autogen.sh >/dev/null 2>&1)

# The whole tree is instrumented for coverage; only the fuzz programs link
# libFuzzer's main.
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
if [ ! -f "$out/build/Makefile" ]; then
	mkdir -p "$out/build"
	(cd "$out/build" && "$top/configure" -q --disable-werror CC=clang \
	    CFLAGS="-g -O1 -fno-omit-frame-pointer $san -fsanitize=fuzzer-no-link" \
	    LDFLAGS="$san" >configure.out 2>&1) ||
	    { cat "$out/build/configure.out"; echo "Bail out! configure"; exit 1; }
fi
progs=()
for t in "${targets[@]}"; do
	progs+=("tests/fuzz/fuzz_$t")
done
if ! make -C "$out/build" -j"$(nproc)" FUZZ_ENGINE=-fsanitize=fuzzer \
    "${progs[@]}" >"$out/make.out" 2>&1; then
	tail -n 40 "$out/make.out"
	echo "Bail out! build"
	exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TMPDIR="$out/tmp"
mkdir -p "$TMPDIR"
n=0 pass=0 fail=0
for t in "${targets[@]}"; do
	n=$((n + 1))
	work="$out/$t"
	rm -rf "$work/crash"
	mkdir -p "$work/corpus" "$work/crash"
	# New inputs go to the work corpus; the checked-in one only seeds.
	"$out/build/tests/fuzz/fuzz_$t" -max_total_time="$secs" \
	    -print_final_stats=1 -artifact_prefix="$work/crash/" \
	    "$work/corpus" "$top/tests/fuzz/corpus/$t" >"$work/log" 2>&1
	rc=$?
	execs=$(awk '/stat::number_of_executed_units/ {print $NF}' \
	    "$work/log" | tail -n 1)
	cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$work/log" | tail -n 1)
	corp=$(find "$work/corpus" -type f | wc -l)
	info="$t: ${execs:-0} execs in ${secs} s, ${cov:-cov: ? ft: ?}, corpus $corp"
	found=$(find "$work/crash" -type f | head -n 1)
	if [ "$rc" -eq 0 ] && [ -z "$found" ]; then
		echo "ok $n - $info"
		pass=$((pass + 1))
		continue
	fi
	echo "not ok $n - $info (exit $rc)"
	fail=$((fail + 1))
	grep -E 'ERROR: |SUMMARY: |runtime error' "$work/log" | head -n 5 |
	    sed 's/^/# /'
	for f in "$work"/crash/*; do
		[ -f "$f" ] || continue
		cp "$f" "$top/tests/fuzz/corpus/$t/" &&
		    echo "# input saved as tests/fuzz/corpus/$t/$(basename "$f")"
	done
done
echo "1..$n"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
