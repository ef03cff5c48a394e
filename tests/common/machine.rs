//! What the test suite needs from the machine, set up by the suite itself, so that `cargo test`
//! works on a fresh Debian machine with only Rust, a C compiler and Python:
//!   - Debian packages (compilers, make, pkg-config, binutils, redis-server, openssl, apache2-utils,
//!     chromium and its driver, Node.js with npm, Go, the headers of libmicrohttpd and libcrypt,
//!     and valgrind when `SESSMGR_C_CHECK=valgrind`): installed with apt-get when the tests run as root; otherwise
//!     the tests stop at once with the one command that installs them;
//!   - Python tools (pytest, selenium): in a virtual environment under the target directory,
//!     made and filled by the tests from `bindings/python/tests/requirements.txt` and
//!     `tests/http/requirements.txt`.
//!
//! Every test binary that uses any of these calls [`prepare`] first; the first one to run sets
//! up everything, so that a missing piece is reported once, before any test uses it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The commands the tests run, and the Debian package of each.
const TOOLS: &[(&str, &str)] = &[
    ("cc", "gcc"),
    ("c++", "g++"),
    ("make", "make"),
    ("pkg-config", "pkg-config"),
    ("readelf", "binutils"),
    ("nm", "binutils"),
    ("objcopy", "binutils"),
    ("objdump", "binutils"),
    ("redis-server", "redis-server"),
    ("redis-cli", "redis-tools"),
    // The certificates of the Redis store's TLS test.
    ("openssl", "openssl"),
    // The example HTTP host's load test (bench/run.sh --quick), and its browser test:
    // Debian's Chromium and its WebDriver.
    ("ab", "apache2-utils"),
    ("chromium", "chromium"),
    ("chromedriver", "chromium-driver"),
    // The Node package's tests (node --test, npm ci) and the Go module's (go test, gofmt).
    ("node", "nodejs"),
    ("npm", "npm"),
    ("go", "golang-go"),
    ("gofmt", "golang-go"),
];

/// The headers the example HTTP host compiles with, and the Debian package of each.
const HEADERS: &[(&str, &str)] = &[
    ("/usr/include/microhttpd.h", "libmicrohttpd-dev"),
    ("/usr/include/crypt.h", "libcrypt-dev"),
];

/// What [`prepare`] set up.
pub struct Machine {
    /// The virtual environment's Python, with pytest and selenium.
    pub python: PathBuf,
}

/// Sets up what the tests need (once per test binary); panics with what to do when it cannot.
pub fn prepare() -> &'static Machine {
    static MACHINE: OnceLock<Machine> = OnceLock::new();
    MACHINE.get_or_init(|| {
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-venv");
        // The virtual environment first: on Debian it needs python3-venv, which then joins the
        // packages to install.
        let mut packages = missing_packages();
        let venv_made = make_venv(&venv);
        if !venv_made {
            packages.push("python3-venv");
        }
        if !packages.is_empty() {
            install(&packages);
            if !venv_made {
                assert!(
                    make_venv(&venv),
                    "cannot make a virtual environment at {venv:?}"
                );
            }
            let still: Vec<&str> = missing_packages();
            assert!(still.is_empty(), "apt-get left these missing: {still:?}");
        }
        let python = venv.join("bin/python");
        if !has_python_tools(&python) {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let requirements = [
                root.join("bindings/python/tests/requirements.txt"),
                root.join("tests/http/requirements.txt"),
            ];
            eprintln!("test set-up: pip install -r {:?}", requirements);
            succeed(
                Command::new(&python)
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                        "-r",
                    ])
                    .arg(&requirements[0])
                    .arg("-r")
                    .arg(&requirements[1]),
            );
            assert!(
                has_python_tools(&python),
                "pytest and selenium did not install into {venv:?}"
            );
        }
        Machine { python }
    })
}

fn missing_packages() -> Vec<&'static str> {
    let valgrind = std::env::var("SESSMGR_C_CHECK").as_deref() == Ok("valgrind");
    let mut packages: Vec<&str> = TOOLS
        .iter()
        .chain(valgrind.then_some(&("valgrind", "valgrind")))
        .filter(|(command, _)| !on_path(command))
        .chain(HEADERS.iter().filter(|(file, _)| !Path::new(file).exists()))
        .map(|&(_, package)| package)
        .collect();
    packages.dedup();
    packages
}

fn on_path(command: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(command)).is_ok_and(|m| {
                m.is_file()
                    && std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
            })
        })
    })
}

/// Makes the virtual environment (with pip) unless it is there; false if Python cannot for
/// want of its venv package (Debian's python3 comes without ensurepip); panics on any other
/// failure.
fn make_venv(venv: &Path) -> bool {
    if venv.join("bin/python").exists() && venv.join("bin/pip").exists() {
        return true;
    }
    let _ = std::fs::remove_dir_all(venv);
    let output = Command::new("python3")
        .args(["-m", "venv"])
        .arg(venv)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3: {e} (the tests need Python 3)"));
    if output.status.success() {
        return true;
    }
    let _ = std::fs::remove_dir_all(venv);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        said.contains("ensurepip") || said.contains("python3-venv"),
        "python3 -m venv {venv:?} failed:\n{said}"
    );
    false
}

fn has_python_tools(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import pytest, selenium"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Installs Debian packages as root, or stops the tests with the command that would.
fn install(packages: &[&str]) {
    let mut unique = packages.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let list = unique.join(" ");
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root || !on_path("apt-get") {
        panic!(
            "\n\nThe tests need Debian packages that are not installed: {list}\n\
             Install them with this one command, then run `cargo test` again:\n\n    \
             sudo apt-get install -y --no-install-recommends {list}\n\n"
        );
    }
    eprintln!("test set-up: apt-get install {list}");
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .unwrap_or_else(|e| panic!("cannot run apt-get: {e}"))
    };
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend(&unique);
    if !apt(&install).status.success() {
        // A fresh machine may have no package lists yet.
        check(apt(&["update"]), "apt-get update");
        check(apt(&install), "apt-get install");
    }
}

fn succeed(command: &mut Command) {
    let what = format!("{command:?}");
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    check(output, &what);
}

fn check(output: Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
