//! The example HTTP host (`examples_c/http_host`): compiled as C99 with `-Wall -Wextra -Werror
//! -pedantic` against the cdylib this `cargo test` built, then driven over real HTTP by the
//! pytest files in `tests/http` (routes with Python's http.client; the admin page with Debian's
//! Chromium through Selenium). Each test starts its own host on a free loopback port.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

mod common;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn pkg_config(flag: &str) -> Vec<String> {
    let output = Command::new("pkg-config")
        .args([flag, "libmicrohttpd"])
        .output()
        .expect("cannot run pkg-config");
    assert!(
        output.status.success(),
        "pkg-config {flag} libmicrohttpd: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The host, built once per test binary.
fn host() -> &'static Path {
    static HOST: OnceLock<PathBuf> = OnceLock::new();
    HOST.get_or_init(|| {
        common::machine::prepare();
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("http_host");
        // Written under this process's own name, then renamed into place: never over an
        // executable another test process is running.
        let written = out.with_extension(format!("{}.tmp", std::process::id()));
        let folder = root().join("examples_c/http_host");
        let mut sources: Vec<PathBuf> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "c"))
            .collect();
        sources.sort();
        let libs = common::library_dir();
        let output = Command::new("cc")
            .args([
                "-std=c99",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic",
                "-O1",
            ])
            .arg(format!("-I{}", root().join("include").display()))
            .args(pkg_config("--cflags"))
            .args(&sources)
            .arg("-o")
            .arg(&written)
            .arg(format!("-L{}", libs.display()))
            .arg(format!("-Wl,-rpath,{}", libs.display()))
            .arg("-lsessmgr")
            .args(pkg_config("--libs"))
            .args(["-lcrypt", "-pthread"])
            .output()
            .expect("cannot run cc");
        assert!(
            output.status.success(),
            "the host does not compile cleanly:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::rename(&written, &out).unwrap();
        out
    })
}

fn pytest(file: &str) {
    let python = &common::machine::prepare().python;
    let output = Command::new(python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root().join("tests/http").join(file))
        .env("HTTP_HOST", host())
        .env("HTTP_HOST_DATA", root().join("examples_c/http_host"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python:?}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pytest {file} failed:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(" passed") && !stdout.contains("skipped"),
        "{stdout}"
    );
}

#[test]
fn routes_over_http() {
    pytest("test_routes.py");
}

#[test]
fn the_admin_page_in_chromium() {
    pytest("test_browser.py");
}
