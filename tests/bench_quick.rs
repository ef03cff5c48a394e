//! The benchmark suite builds, and `bench/run.sh --quick` runs it end to end (criterion with
//! the floor, Redis and tower-sessions, the library on Redis, memory, sweep, the C mix, the HTTP host under ab, the
//! report). No time is asserted: the figures are for BENCHMARKS.md, from a full run.
//!
//! A long run (a release build of the benchmark crate and its peers, then every benchmark:
//! about three minutes on 2 cores), so not in the default `cargo test`, which stays a test of
//! everything and not a benchmark. CI runs it:
//!   cargo test --test bench_quick -- --ignored

use std::path::Path;
use std::process::Command;

mod common;

#[test]
#[ignore = "long (about 3 minutes): cargo test --test bench_quick -- --ignored, as CI does"]
fn benchmark_quick_mode_runs() {
    common::machine::prepare();
    let bench = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench");
    let output = Command::new("bash")
        .arg(bench.join("run.sh"))
        .arg("--quick")
        // Its own Redis port, so as not to meet a full run going on.
        .env("SESSMGR_BENCH_REDIS_PORT", "6391")
        .output()
        .expect("run bench/run.sh");
    assert!(
        output.status.success(),
        "bench/run.sh --quick failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let report = std::fs::read_to_string(bench.join("results-quick/BENCHMARKS-quick.md"))
        .expect("the quick report");
    for section in [
        "## 1000 live sessions",
        "## Request-like mix",
        "## The Redis store",
        "## The example HTTP host under load",
        "## Memory",
        "## Sweep",
        "## Targets",
    ] {
        assert!(
            report.contains(section),
            "the quick report has no {section:?}:\n{report}"
        );
    }
    for row in [
        "| has_privilege_granted |",
        "| storage_update |",
        "| request_set |",
        "`redis-benchmark -c 1`: GET",
        "tower-sessions' memory store",
        "| `/counter` | 1 × 2000 | 2000 |",
        "| `/static` | 1 × 2000 | 2000 |",
        "every request succeeds and the final count equals them, every run | exact | yes |",
    ] {
        assert!(
            report.contains(row),
            "the quick report has no {row:?}:\n{report}"
        );
    }
    assert!(
        !report.contains("| — | — |"),
        "a benchmark produced no figure:\n{report}"
    );
}
