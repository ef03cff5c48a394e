//! The Python package: its pytest suite and quick-start example against the library these
//! tests built, and `pip install ./bindings/python` finding the library next to the package, all
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

#[test]
fn pip_installs_and_finds_the_library_next_to_the_package() {
    let target =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("python-{}", std::process::id()));
    let build =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("python-build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&target);
    // Build from a copy, so that pip's build files stay out of the source tree.
    succeed(
        Command::new("cp")
            .arg("-r")
            .arg(root().join("bindings/python"))
            .arg(&build),
    );
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
            .arg(&build),
    );
    std::fs::copy(library(), target.join("sessmgr/libsessmgr.so")).unwrap();
    let stdout = succeed(
        python()
            .args([
                "-c",
                "import sessmgr; s = sessmgr.create_session(); print(sessmgr.version(), len(s.id))",
            ])
            .env_remove("SESSMGR_LIBRARY")
            .env("LD_LIBRARY_PATH", "")
            .env("PYTHONPATH", &target)
            .current_dir(&target),
    );
    assert_eq!(stdout.trim(), format!("{} 32", env!("CARGO_PKG_VERSION")));
    let _ = std::fs::remove_dir_all(&target);
    let _ = std::fs::remove_dir_all(&build);
}
