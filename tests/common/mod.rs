//! Helpers shared by integration tests (each test binary uses some of them).
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::ffi::{c_char, c_void};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sessmgr::ffi::status::SESSMGR_UPDATE_COMMIT;
use sessmgr::ffi::storage::sessmgr_update;

pub mod machine;
pub mod race;
pub mod redis_server;

/// A directory holding the `libsessmgr.so` built with these tests (in target/<profile>/deps)
/// under both names a program may ask for: `libsessmgr.so` when linking, and its soname
/// (`libsessmgr.so.0.1`) when it runs.
pub fn library_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        let built = exe.parent().expect("deps directory").join("libsessmgr.so");
        assert!(
            built.exists(),
            "{} is missing: cargo builds the cdylib with the tests",
            built.display()
        );
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("lib-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let soname = format!("libsessmgr.so.0.{}", env!("CARGO_PKG_VERSION_MINOR"));
        for name in ["libsessmgr.so", soname.as_str()] {
            let link = dir.join(name);
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&built, &link).unwrap();
        }
        dir
    })
    .clone()
}

/// The names of the functions `include/sessmgr.h` declares.
pub fn header_functions() -> BTreeSet<String> {
    let header =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/sessmgr.h"))
            .unwrap();
    header
        .lines()
        .filter(|line| line.contains('(') && !line.trim_start().starts_with(['*', '/', '#']))
        .filter_map(|line| {
            let before = &line[..line.find('(')?];
            let name = before.rsplit([' ', '*']).next()?;
            name.starts_with("sessmgr_").then(|| name.to_owned())
        })
        .collect()
}

/// Installs an event handler on `r` that keeps every event, parsed.
pub fn recorder(r: &sessmgr::Registry) -> std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>> {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let theirs = std::sync::Arc::clone(&seen);
    let handler: sessmgr::EventHandler = std::sync::Arc::new(move |json: &str| {
        theirs
            .lock()
            .unwrap()
            .push(serde_json::from_str(json).unwrap())
    });
    r.set_event_handler(Some(handler));
    seen
}

/// A storage update callback that hands nothing back and commits: the storage stays as it is.
pub unsafe extern "C" fn commit_nothing(
    _: *mut sessmgr_update,
    _: *const c_char,
    _: *mut c_void,
) -> i32 {
    SESSMGR_UPDATE_COMMIT
}

/// Runs a command to its end and returns what it printed; panics with all it said when it
/// cannot run or fails.
pub fn succeed(command: &mut std::process::Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
