#!/bin/sh
# What the session module costs the can worker, in instructions (callgrind):
# the real leafmon-can replays a log at speed 0 with [ledger] off and on, and
# the instruction counts are compared (whole process, start to stop; and the
# frame path's functions). Instruction counts do not depend on the load of
# the machine, unlike CPU time (bench_decode --worker).
#   bench/run_session_callgrind.sh [--build DIR] [--data DIR] [--day] [--speed X] [LOG...]
# LOGs default to the ZE0 stock log of DIR (../shared/data/leaf); --day adds
# the simulator's long day (AZE0, about 6.5M frames: several minutes under
# callgrind). --speed 1 replays in real time (as long as the log), so that the
# checkpoint's writes each second count as they do live.
set -eu

build=build
data=../shared/data/leaf
day=false
speed=0
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--data) data=$2; shift 2 ;;
	--day) day=true; shift ;;
	--speed) speed=$2; shift 2 ;;
	-*) echo "usage: $0 [--build DIR] [--data DIR] [--day] [--speed X] [LOG...]" >&2; exit 2 ;;
	*) break ;;
	esac
done
worker=$build/libexec/leafmon-can
cli=$build/cli/leafmon
command -v valgrind >/dev/null || { echo "$0: valgrind is not installed" >&2; exit 1; }
[ -x "$worker" ] || { echo "$0: $worker: not built" >&2; exit 1; }

tmp=$(mktemp -d /tmp/leafmon-sesscg-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if [ $# -eq 0 ]; then
	set -- "$data/logs/ze0_2011-2012/ZE0w24kWhstock.log"
fi
if $day; then
	"$cli" sim --to - --scenario day --generation AZE0 --start 1709879400 >"$tmp/day.log"
	set -- "$@" "$tmp/day.log"
fi

# The instructions (Ir) of one run: total, and inclusive of a function.
ir_total() {
	sed -n 's/^summary: *//p' "$1"
}
ir_incl() {
	callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
		awk -v f="$2" '$0 ~ ("[:*]" f " ") || $0 ~ ("[:*]" f "$") { gsub(",", "", $1); print $1; exit }'
}

# One run: $1 log, $2 ledger true|false; prints "total frame_path sessions frames".
run() {
	d=$tmp/run-$2
	rm -rf "$d"
	mkdir -p "$d/run" "$d/state"
	cat >"$d/c.conf" <<EOF
[supervisor]
rundir = $d/run
statedir = $d/state
[can]
source = replay:$1,speed=$speed
asleep_after_s = 1
[ledger]
enabled = $2
EOF
	valgrind --tool=callgrind --callgrind-out-file="$d/cg.out" --log-file="$d/vg.log" \
		"$worker" -c "$d/c.conf" --standalone 2>"$d/err" &
	pid=$!
	# the end of the log, then the bus asleep (1 s later): everything is decoded
	# (at 1x a stall of callgrind's start can look like a sleep before it)
	while ! sed -n '/end of log/,$p' "$d/err" 2>/dev/null | grep -q 'bus asleep'; do
		kill -0 $pid 2>/dev/null || { cat "$d/err" "$d/vg.log" >&2; exit 1; }
		sleep 1
	done
	kill -TERM $pid
	wait $pid || true
	echo "$(ir_total "$d/cg.out") $(ir_incl "$d/cg.out" pipe_frame) $(ir_incl "$d/cg.out" sessions_frame)" \
		"$(sed -n 's/.*end of log (\([0-9]*\) frames.*/\1/p' "$d/err")"
}

for log in "$@"; do
	set -- $(run "$log" false)
	off_total=$1 off_pipe=$2
	set -- $(run "$log" true)
	on_total=$1 on_pipe=$2 on_sess=$3 frames=$4
	echo "$(basename "$log"): $frames frames, speed $speed"
	awk -v a="$off_total" -v b="$on_total" -v pa="$off_pipe" -v pb="$on_pipe" -v s="$on_sess" -v n="$frames" 'BEGIN {
		printf "  leafmon-can, whole run: %.1fM instructions with [ledger] off, %.1fM on: %+.2f %%\n", a / 1e6, b / 1e6, (b / a - 1) * 100
		printf "  the frame path (pipe_frame): %.1fM off, %.1fM on: %+.2f %%\n", pa / 1e6, pb / 1e6, (pb / pa - 1) * 100
		if (n > 0)
			printf "  sessions_frame: %.1fM instructions, %.1f per frame\n", s / 1e6, s / n
	}'
done
