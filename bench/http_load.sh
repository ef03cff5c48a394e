#!/usr/bin/env bash
# The load test of the example HTTP host (examples_c/http_host), called by run.sh:
#   http_load.sh HOST_BINARY REQUESTS REPEATS OUT.jsonl
# For each of /counter and /static, REPEATS times: a fresh host (--measure), then ab (apache2-
# utils) with 50 concurrent keep-alive clients for REQUESTS requests; /counter's 50 clients
# share one session cookie. Each run writes one JSON line: ab's figures, whether the counter's
# final value is exactly one per successful request, and the host's own figures (time inside
# sessmgr's calls, the process's CPU time).
set -euo pipefail
host=$1 requests=$2 repeats=$3 out=$4
data="$(cd "$(dirname "$0")/../examples_c/http_host" && pwd)"

# One GET; prints the body, or the cookie it set with `cookie`.
get() {
    python3 - "$@" <<'PY'
import sys, urllib.request
url, want = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "body"
request = urllib.request.Request(url)
if len(sys.argv) > 3:
    request.add_header("Cookie", "sid=" + sys.argv[3])
with urllib.request.urlopen(request, timeout=10) as response:
    body = response.read().decode()
    if want == "cookie":
        print(response.headers["Set-Cookie"].split(";")[0].split("=", 1)[1])
    else:
        print(body.strip())
PY
}

# ab's figure for a label, e.g. "Complete requests".
figure() { sed -n "s/^$1: *\([0-9.]*\).*/\1/p" "$2" | head -n 1; }

for route in counter static; do
    for run in $(seq "$repeats"); do
        log=$(mktemp)
        "$host" 0 --data "$data" --measure > "$log" 2>&1 &
        pid=$!
        for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.05; done
        url=$(sed -n 's/.*listening on \(http:[^ ]*\)/\1/p' "$log" | sed 's,/$,,')
        cookie=()
        sid=
        if [ "$route" = counter ]; then
            sid=$(get "$url/counter" cookie)
            cookie=(-C "sid=$sid")
        fi
        ab_out=$(mktemp)
        ab -q -k -c 50 -n "$requests" "${cookie[@]}" "$url/$route" > "$ab_out" 2>&1
        complete=$(figure "Complete requests" "$ab_out")
        non2xx=$(figure "Non-2xx responses" "$ab_out"); non2xx=${non2xx:-0}
        # ab counts a body of another length than the first as failed ("Length"): /counter's
        # bodies grow a digit now and then. Only connection, receive and exception failures are.
        failed=$(sed -n 's/.*(Connect: \([0-9]*\), Receive: \([0-9]*\), Length: [0-9]*, Exceptions: \([0-9]*\))/\1 \2 \3/p' "$ab_out" \
                 | awk '{print $1 + $2 + $3}')
        failed=${failed:-0}
        successful=$((complete - failed - non2xx))
        final=-1
        if [ "$route" = counter ]; then
            # The first GET counted 1, this one counts 1 more.
            final=$(($(get "$url/counter" body "$sid") - 2))
        fi
        kill -TERM "$pid"
        wait "$pid"
        measure=$(sed -n 's/^measure: //p' "$log")
        field() { echo "$measure" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
        printf '{"route":"%s","requests":%s,"successful":%s,"final_count":%s,"rps":%s,"mean_ms":%s,"counter_requests":%s,"sessmgr_ns":%s,"cpu_ns":%s}\n' \
            "$route" "$complete" "$successful" "$final" "$(figure "Requests per second" "$ab_out")" \
            "$(figure "Time per request" "$ab_out")" "$(field counter_requests)" "$(field sessmgr_ns)" \
            "$(field cpu_ns)" >> "$out"
        rm -f "$log" "$ab_out"
    done
done
