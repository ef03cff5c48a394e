//! The C programs under tests/c, each compiled as C99 and as C++17 with
//! `-Wall -Wextra -Werror -pedantic`, linked to the cdylib that this `cargo test` built, and run.
//! Each runs in its own process, so each has the global registry to itself.
//!
//! `SESSMGR_C_CHECK=valgrind` runs every program under valgrind memcheck, and
//! `SESSMGR_C_CHECK=asan` builds them with AddressSanitizer (LeakSanitizer included); either way
//! an invalid access, or memory definitely or indirectly lost, fails the test. `.ci/run` runs
//! this file both ways.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

/// The memory checker these programs run under, from `SESSMGR_C_CHECK`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Check {
    None,
    Valgrind,
    Asan,
}

fn check() -> Check {
    match std::env::var("SESSMGR_C_CHECK").as_deref() {
        Err(_) | Ok("") => Check::None,
        Ok("valgrind") => Check::Valgrind,
        Ok("asan") => Check::Asan,
        Ok(other) => panic!("SESSMGR_C_CHECK={other}: expected valgrind or asan"),
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Language {
    C99,
    Cxx17,
}

/// Compiles one C source (and any extra flags) into an executable; panics with the compiler's
/// output if it does not compile cleanly.
pub fn compile(source: &Path, language: Language, extra: &[&str]) -> PathBuf {
    common::machine::prepare();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let libs = common::library_dir();
    let stem = source.file_stem().unwrap().to_string_lossy();
    let out =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{stem}-{language:?}-{:?}", check()));
    // Written under a name of its own, then renamed into place: two tests (or two test
    // processes) compiling the same program never write over an executable another is running
    // (which fails its exec with ETXTBSY, as one test run in 20 under load did).
    static COMPILED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COMPILED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let written = out.with_extension(format!("{}-{n}.tmp", std::process::id()));
    let sanitize: &[&str] = match check() {
        Check::Asan => &["-fsanitize=address", "-fno-omit-frame-pointer"],
        _ => &[],
    };
    let (compiler, standard): (&str, &[&str]) = match language {
        Language::C99 => ("cc", &["-std=c99", "-D_POSIX_C_SOURCE=200809L"]),
        Language::Cxx17 => ("c++", &["-x", "c++", "-std=c++17"]),
    };
    let output = Command::new(compiler)
        .args(standard)
        .args(["-Wall", "-Wextra", "-Werror", "-pedantic", "-O1", "-g"])
        .args(sanitize)
        .arg("-I")
        .arg(root.join("include"))
        .arg("-I")
        .arg(root.join("tests/c"))
        .arg(source)
        .args(extra)
        .arg("-o")
        .arg(&written)
        .arg(format!("-L{}", libs.display()))
        .arg(format!("-Wl,-rpath,{}", libs.display()))
        .args(["-lsessmgr", "-lpthread"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {compiler}: {e} (install gcc and g++)"));
    assert!(
        output.status.success(),
        "{compiler} failed on {}:\n{}{}",
        source.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::rename(&written, &out).unwrap();
    out
}

/// Runs a compiled program; panics with its output unless it exits 0. Returns its stdout.
/// `cargo test` puts target/<profile> (where a stale `cargo build` may have left another
/// libsessmgr.so) on LD_LIBRARY_PATH, which outranks the programs' run path: point it at the
/// library built with these tests.
pub fn run(program: &Path) -> String {
    run_with(program, &[])
}

/// As [`run`], with arguments.
pub fn run_with(program: &Path, args: &[&str]) -> String {
    run_on(program, args, None)
}

/// As [`run_with`], on the store `store` names (`SESSMGR_TEST_STORE`, see tests/c/check.h).
pub fn run_on(program: &Path, args: &[&str], store: Option<&str>) -> String {
    let mut command = match check() {
        Check::Valgrind => {
            let mut valgrind = Command::new("valgrind");
            valgrind.args([
                "--quiet",
                "--error-exitcode=99",
                "--leak-check=full",
                "--show-leak-kinds=definite,indirect",
                "--errors-for-leak-kinds=definite,indirect",
            ]);
            valgrind.arg(program);
            valgrind
        }
        _ => Command::new(program),
    };
    let output = command
        .args(args)
        .env("LD_LIBRARY_PATH", common::library_dir())
        .env("SESSMGR_TEST_STORE", store.unwrap_or(""))
        .env(
            "ASAN_OPTIONS",
            "detect_leaks=1:abort_on_error=0:exitcode=98",
        )
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} ({:?}): {e}", program.display(), check()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{} failed ({}):\n{}{}",
        program.display(),
        output.status,
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn compile_and_run(name: &str) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/c")
        .join(name);
    for language in [Language::C99, Language::Cxx17] {
        let stdout = run(&compile(&source, language, &[]));
        assert!(
            stdout.contains("all checks passed"),
            "{name} ({language:?}): {stdout}"
        );
    }
}

/// The programs whose checks hold on any store, run again on the Redis store (a real
/// `redis-server`, a prefix per program), under the same memory checker.
#[test]
fn the_c_programs_on_the_redis_store() {
    let server = common::redis_server::RedisServer::start();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut programs: Vec<(PathBuf, Language)> = Vec::new();
    for name in ["seeds.c", "threads.c", "admin.c", "login.c", "bad_input.c"] {
        for language in [Language::C99, Language::Cxx17] {
            programs.push((root.join("tests/c").join(name), language));
        }
    }
    programs.push((root.join("tests/cpp/wrapper.cpp"), Language::Cxx17));
    for (n, (source, language)) in programs.iter().enumerate() {
        // No deadline is under test here: a generous one, for valgrind on a busy machine.
        let store = server.store_waiting(&format!("c{n}:"), 20_000);
        let stdout = run_on(&compile(source, *language, &[]), &[], Some(&store));
        assert!(
            stdout.contains("all checks passed"),
            "{} ({language:?}) on Redis: {stdout}",
            source.display()
        );
    }
}

#[test]
fn seed_examples() {
    compile_and_run("seeds.c");
}

#[test]
fn eight_threads_lose_nothing() {
    compile_and_run("threads.c");
}

#[test]
fn cpp_wrapper() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cpp/wrapper.cpp");
    let stdout = run(&compile(&source, Language::Cxx17, &[]));
    assert!(stdout.contains("all checks passed"), "{stdout}");
}

#[test]
fn administrators_view_in_c() {
    compile_and_run("admin.c");
}

#[test]
fn the_login_pattern() {
    compile_and_run("login.c");
}

#[test]
fn stopping_the_sweeper_or_resetting_never_waits_for_a_handler() {
    compile_and_run("sweeper_stop.c");
}

#[test]
fn bad_input_in_c() {
    compile_and_run("bad_input.c");
}

#[test]
fn host_example_runs() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples_c/host.c");
    for language in [Language::C99, Language::Cxx17] {
        let log =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("host-{language:?}-Access.log"));
        let stdout = run_with(&compile(&source, language, &[]), &[log.to_str().unwrap()]);
        for expected in [
            "\"type\":\"storedProcedure\"",
            "S1234567",
            "Session is WebAdmin",
            "\"sessions\":[",
            "\"clients\":[",
            "\"userName\":\"S1234567\"",
            "\"guestFiles\":[]",
            "events delivered to the handler",
            "Timestamp\tLevel\tCode\tHost\tMessage",
            "\t638\tdemo-host\tClient \"Guest (Kiosk 1) [192.0.2.31]\" opening a connection",
            "\t9001\tdemo-host\tClient \"S1234567 (Kiosk 1) [192.0.2.31]\" session identifier changed from \"Guest\" to \"S1234567\".",
            "\t94\tdemo-host\tClient \"Guest (Kiosk 1) [192.0.2.31]\" opening database \"Survey\" as \"Guest\".",
            "\t98\tdemo-host\t",
            "\t22\tdemo-host\t",
        ] {
            assert!(
                stdout.contains(expected),
                "host ({language:?}) printed no {expected:?}:\n{stdout}"
            );
        }
        let written = std::fs::read_to_string(&log).unwrap();
        assert!(
            stdout.contains(written.lines().last().unwrap()),
            "the printed log is the file"
        );
    }
}

#[test]
fn request_mix_benchmark_runs_in_quick_mode() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/c/request_mix.c");
    let stdout = run_with(&compile(&source, Language::C99, &[]), &["1000", "0.05"]);
    assert!(
        stdout.starts_with("request_mix sessions=1000 one_thread="),
        "{stdout}"
    );
}
