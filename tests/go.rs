//! The Go module (bindings/go): `go vet`, gofmt and `go test` (its tests and the quick-start
//! example), built with cgo through `pkg-config: sessmgr` against the library these tests built,
//! installed by `make install-files` into a temporary prefix as a user's `make install` would.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::succeed;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The library installed into a prefix of this test binary's own (once).
fn prefix() -> &'static Path {
    static PREFIX: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PREFIX.get_or_init(|| {
        common::machine::prepare();
        // target/<profile>/deps, where this `cargo test` built libsessmgr.so and libsessmgr.a.
        let exe = std::env::current_exe().unwrap();
        let built = exe.parent().unwrap();
        // One path for every run: the go tool caches the flags pkg-config gave a cgo package,
        // not knowing when they change (golang/go#24544), so a prefix of another name would
        // leave later builds linking against a directory that is gone.
        let prefix = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-prefix");
        let _ = std::fs::remove_dir_all(&prefix);
        succeed(
            Command::new("make")
                .arg("-C")
                .arg(root())
                .arg("install-files")
                .arg(format!("PREFIX={}", prefix.display()))
                .arg(format!("BUILD={}", built.display())),
        );
        prefix
    })
}

/// The go tool in bindings/go, finding the library by pkg-config in the prefix, and fetching
/// nothing (the module needs only the standard library).
fn go(args: &[&str]) -> Command {
    let lib = prefix().join("lib");
    let mut command = Command::new("go");
    command
        .args(args)
        .env("PKG_CONFIG_PATH", lib.join("pkgconfig"))
        .env("LD_LIBRARY_PATH", &lib)
        .env("CGO_ENABLED", "1")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=readonly")
        // A build cache of these tests' own, beside that prefix (see above).
        .env(
            "GOCACHE",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-cache"),
        )
        .env("SESSMGR_HEADER", root().join("include/sessmgr.h"))
        .current_dir(root().join("bindings/go"));
    command
}

#[test]
fn go_vet_and_gofmt_are_clean() {
    succeed(&mut go(&["vet", "./..."]));
    let unformatted = succeed(
        Command::new("gofmt")
            .arg("-l")
            .arg(root().join("bindings/go")),
    );
    assert_eq!(unformatted.trim(), "", "gofmt would change these files");
}

#[test]
fn go_test_suite_and_quickstart_example() {
    let stdout = succeed(&mut go(&["test", "-count=1", "-v", "./..."]));
    for test in [
        "TestEightGoroutinesOnOneCounter",
        "TestEveryStatusOfTheHeaderHasItsSentinel",
        "TestPermissions",
        "TestRequestInOneCall",
        "Example",
    ] {
        assert!(
            stdout.contains(&format!("--- PASS: {test} ")),
            "{test} did not pass:\n{stdout}"
        );
    }
    assert!(
        !stdout.contains("--- FAIL") && !stdout.contains("--- SKIP"),
        "{stdout}"
    );
    assert!(stdout.contains("\nok "), "{stdout}");
}
