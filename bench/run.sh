#!/usr/bin/env bash
# Runs every benchmark and writes ../BENCHMARKS.md: sessmgr's operations beside the floor,
# Redis and tower-sessions (criterion), the library on the Redis store beside bare round trips
# (redis_probe), the C request mix with 1 and 2 threads, the example HTTP
# host under ab's load (http_load.sh), the read path against a C floor and on 2 threads
# (read_probe), resident memory per session, and the sweep's cost.
# Installs what it needs (redis-server, apache2-utils, libmicrohttpd-dev, libcrypt-dev) when
# run as root, and starts redis-server.
#   ./run.sh           the full run (about five minutes)
#   ./run.sh --quick   small sizes, short runs; writes results-quick/BENCHMARKS-quick.md instead,
#                      with criterion's data in target/criterion-quick: a full run's results and
#                      data are left as they are, so its report can still be made again from them
set -euo pipefail
cd "$(dirname "$0")"
quick=0
[ "${1:-}" = "--quick" ] && quick=1

# Redis for the comparison; ab, libmicrohttpd and libcrypt for the HTTP host's load test.
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v ab >/dev/null 2>&1 || missing+=(apache2-utils)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
[ -e /usr/include/microhttpd.h ] || missing+=(libmicrohttpd-dev)
[ -e /usr/include/crypt.h ] || missing+=(libcrypt-dev)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"
    else
        echo "run.sh: these are needed: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi
port=${SESSMGR_BENCH_REDIS_PORT:-6390}
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "/tmp/sessmgr-bench-redis-$port.pid" --logfile "/tmp/sessmgr-bench-redis-$port.log"
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true' EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
export REDIS_URL="redis://127.0.0.1:$port/"

results=results
criterion=target/criterion
if [ "$quick" = 1 ]; then
    results=results-quick
    criterion=target/criterion-quick
fi
export CRITERION_HOME="$PWD/$criterion"
rm -rf "$results" "$criterion"
mkdir -p "$results"
if [ "$quick" = 1 ]; then
    export SESSMGR_BENCH_SIZES=1000 SESSMGR_BENCH_QUICK=1
    memory_sizes="10000"; sweep_sizes="1000 10000"; mix_sizes="1000"; mix_seconds=0.2; repeats=2
    http_requests=2000; http_repeats=1; probe_lookups=100000
    redis_sizes="1000"; export SESSMGR_PROBE_ROUNDS=2 SESSMGR_PROBE_BATCH=300
    report="$results/BENCHMARKS-quick.md"
else
    export SESSMGR_BENCH_SIZES=1000,100000,1000000
    memory_sizes="100000 1000000"; sweep_sizes="10000 1000000"; mix_sizes="1000 100000 1000000"; mix_seconds=3; repeats=7
    http_requests=200000; http_repeats=3; probe_lookups=1000000
    redis_sizes="1000 100000"
    report=../BENCHMARKS.md
fi

{
    echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores," \
         "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr);" \
         "$(rustc --version); Redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')."
    echo "Date: $(date -u +%Y-%m-%d)."
} > "$results/machine.txt"

cargo build --release --bins --benches --quiet
cargo bench --quiet --bench operations 2>&1 | grep -E "time:|skipping" || true

for n in $memory_sizes; do
    target/release/memory "$n" >> "$results/memory.jsonl"
    target/release/memory "$n" storage >> "$results/memory.jsonl"
done
for n in $sweep_sizes; do
    target/release/sweep "$n" "$repeats" >> "$results/sweep.jsonl"
done

# The library on the Redis store beside bare round trips (and redis-benchmark -c 1), interleaved.
target/release/redis_probe $redis_sizes >> "$results/redis_probe.jsonl"

# The C benchmark, linked to the library this build made (with its soname's name beside it).
lib=target/release/deps
ln -sf libsessmgr.so "$lib/libsessmgr.so.$(cd .. && sed -n 's/^version = "\([0-9]*\)\.\([0-9]*\)\..*/\1.\2/p' Cargo.toml | head -n 1)"
cc -std=c99 -D_POSIX_C_SOURCE=200809L -O2 -Wall -Wextra -Werror -pedantic -I../include \
    ../benches/c/request_mix.c -o "$results/request_mix" -L"$lib" -Wl,-rpath,"$PWD/$lib" -lsessmgr -lpthread
for n in $mix_sizes; do
    "$results/request_mix" "$n" "$mix_seconds" >> "$results/c_mix.txt"
done
# The read path against the C floors (keyed by the ID's text; by keys parsed in advance), reads on 2 threads, and 64 readers of one session.
cc -std=c99 -D_POSIX_C_SOURCE=200809L -O2 -Wall -Wextra -Werror -pedantic -I../include \
    ../benches/c/read_probe.c -o "$results/read_probe" -L"$lib" -Wl,-rpath,"$PWD/$lib" -lsessmgr -lpthread
for n in $mix_sizes; do
    "$results/read_probe" floor "$n" "$probe_lookups" >> "$results/probe.jsonl"
done
for n in $mix_sizes; do
    "$results/read_probe" scaling "$n" "$mix_seconds" >> "$results/probe.jsonl"
done
"$results/read_probe" readers "$mix_seconds" >> "$results/probe.jsonl"

# The example HTTP host, built against the same library, under ab's load.
cc -std=c99 -O2 -Wall -Wextra -Werror -pedantic -I../include $(pkg-config --cflags libmicrohttpd) \
    ../examples_c/http_host/*.c -o "$results/http_host" -L"$lib" -Wl,-rpath,"$PWD/$lib" -lsessmgr \
    $(pkg-config --libs libmicrohttpd) -lcrypt -pthread
./http_load.sh "$results/http_host" "$http_requests" "$http_repeats" "$results/http.jsonl"

target/release/report "$results" "$criterion" "$report"
