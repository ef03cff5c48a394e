//! The Python package: its pytest suite and quick-start example against the library these
//! tests built, and `pip install ./bindings/python` giving a package with the library inside, all
//! with the Python of a virtual environment that the tests make (see `common::machine`).

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::succeed;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn library() -> PathBuf {
    std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .join("libsessmgr.so")
}

/// The Python of the virtual environment the tests make (with pytest).
fn python() -> Command {
    let mut command = Command::new(&common::machine::prepare().python);
    command
        .env("SESSMGR_LIBRARY", library())
        .env("PYTHONDONTWRITEBYTECODE", "1");
    command
}

#[test]
fn pytest_suite() {
    let stdout = succeed(
        python()
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(root().join("bindings/python/tests"))
            .env("PYTHONPATH", root().join("bindings/python")),
    );
    assert!(stdout.contains(" passed"), "{stdout}");
    assert!(!stdout.contains("skipped"), "{stdout}");
}

#[test]
fn quickstart_example() {
    let stdout = succeed(
        python()
            .arg(root().join("bindings/python/examples/quickstart.py"))
            .env("PYTHONPATH", root().join("bindings/python")),
    );
    assert_eq!(stdout.trim(), "admin=yes storage={'cart': [42]}");
}

/// `pip install ./bindings/python`, as the README says: the wheel holds the library (built by
/// `cargo build --release` from this source tree, stripped of its debug information), which
/// the package finds beside itself with no `SESSMGR_LIBRARY` and no library on the system's
/// search path.
#[test]
fn pip_install_gives_a_package_that_works_at_once() {
    let target =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("python-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&target);
    succeed(
        python()
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--disable-pip-version-check",
                "--target",
            ])
            .arg(&target)
            .arg("./bindings/python")
            .current_dir(root()),
    );
    // Stripped, as make install strips it: no debug information, about 4 MB (of it, about 2 MB
    // is the TLS client of rediss://, rustls and ring).
    let packaged = target.join("sessmgr/libsessmgr.so");
    let sections = succeed(Command::new("readelf").arg("-S").arg(&packaged));
    assert!(sections.contains(".dynsym"), "{sections}");
    assert!(!sections.contains(".debug_"), "{sections}");
    let size = std::fs::metadata(&packaged).unwrap().len();
    assert!(size < 5 << 20, "{size} bytes");
    let stdout = succeed(
        python()
            .args([
                "-c",
                "import sessmgr, sessmgr._native as n; s = sessmgr.create_session(); \
                 print(sessmgr.version(), len(s.id), n.lib._name)",
            ])
            .env_remove("SESSMGR_LIBRARY")
            .env("LD_LIBRARY_PATH", "")
            .env("PYTHONPATH", &target)
            .current_dir(&target),
    );
    assert_eq!(
        stdout.trim(),
        format!(
            "{} 32 {}",
            env!("CARGO_PKG_VERSION"),
            target.join("sessmgr/libsessmgr.so").display()
        )
    );
    let _ = std::fs::remove_dir_all(&target);
}
