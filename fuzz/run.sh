#!/usr/bin/env bash
# Runs every fuzz target (or the TARGETs named) for SECONDS each (default 600), two at a time, with cargo fuzz on stable
# Rust (--sanitizer none: the targets check the library's answers themselves; see targets.rs).
# New inputs go to fuzz/work/<target>/ (not committed: copy a finding into corpus/<target>/ to
# keep it); a crash is written to fuzz/artifacts/<target>/ and makes this script fail.
#   ./run.sh [SECONDS [TARGET...]]
set -uo pipefail
cd "$(dirname "$0")"
export seconds=${1:-600}
shift $(( $# > 0 ? 1 : 0 ))
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cargo fuzz build --sanitizer none -O || exit 1
run_one() {
    local target=$1
    mkdir -p "work/$target"
    cargo fuzz run --sanitizer none -O "$target" "work/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        > "work/$target.log" 2>&1
    local status=$?
    echo "$target: exit $status; $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "work/$target.log")" \
         "$(grep -o 'cov: [0-9]* ft: [0-9]*' "work/$target.log" | tail -n 1)"
    return $status
}
export -f run_one
if [ $# -gt 0 ]; then printf '%s\n' "$@"; else cargo fuzz list; fi |
    xargs -P 2 -I{} bash -c 'run_one {}'
