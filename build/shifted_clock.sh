#!/usr/bin/env bash
# Run a command with the process clock shifted to INSTANT (libfaketime) and TZ set to ZONE,
# to prove the suite does not depend on the real date, weekday, time of day or zone.
#   build/shifted_clock.sh 2026-12-06T23:30:00Z America/Los_Angeles .venv/bin/pytest -q
# The clock starts at INSTANT and runs on at real speed. Every child process inherits the shift.
# The monotonic clock is shifted by the same offset: left alone, libfaketime 0.9.10 still
# rewrites the absolute deadline of clock_nanosleep(CLOCK_MONOTONIC), which Python 3.11's
# time.sleep uses, and every sleep fails with EINVAL.
set -euo pipefail

instant=$1
zone=$2
shift 2

lib=""
for candidate in /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 \
    /usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1 \
    /usr/lib/faketime/libfaketimeMT.so.1; do
    if [[ -f "$candidate" ]]; then
        lib=$candidate
        break
    fi
done
if [[ -z "$lib" ]]; then
    echo "shifted_clock: libfaketime is not installed (Debian: apt-get install libfaketime)" >&2
    exit 2
fi

target=$(date -u -d "$instant" +%s)
offset=$((target - $(date -u +%s)))
sign=$([[ $offset -ge 0 ]] && echo "+" || echo "")

export LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}"
export FAKETIME="${sign}${offset}s"
export FAKETIME_DONT_FAKE_MONOTONIC=0
export TZ="$zone"

# Prove the shift took before trusting a green run under it.
seen=$(date -u +%Y-%m-%dT%H:%M)
wanted=$(date -u -d "@$target" +%Y-%m-%dT%H:%M 2>/dev/null || true)
echo "== clock shifted: UTC $(date -u '+%a %Y-%m-%d %H:%M'), local $(date '+%a %H:%M %Z') (TZ=$zone)"
if [[ "$seen" != "$wanted" ]]; then
    echo "shifted_clock: the clock reads $seen, not $wanted: libfaketime did not take" >&2
    exit 2
fi
exec "$@"
