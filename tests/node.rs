//! The Node package (bindings/node): its `node --test` suite and quick start against the library
//! these tests built, and the package as `npm install` of its tarball gives it, finding the
//! library beside itself. Its one dependency, koffi, comes from the npm registry by `npm ci`
//! (the lockfile's version).

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::succeed;

fn package() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bindings/node")
}

/// `npm ci` once per test binary, as the lockfile says; then node, with the library and header
/// these tests use.
fn node() -> Command {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    common::machine::prepare();
    INSTALLED.call_once(|| {
        succeed(
            npm()
                .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
                .current_dir(package()),
        );
    });
    let mut command = Command::new("node");
    command
        .env(
            "SESSMGR_LIBRARY",
            common::library_dir().join("libsessmgr.so"),
        )
        .env(
            "SESSMGR_HEADER",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("include/sessmgr.h"),
        )
        .current_dir(package());
    command
}

fn npm() -> Command {
    let mut command = Command::new("npm");
    command.env("npm_config_update_notifier", "false");
    command
}

/// What a Node developer types in the package, `node --test` and `npm test` (the same suite):
/// every test file under test/ passes, and nothing else is taken for one.
#[test]
fn node_test_suite() {
    let files = std::fs::read_dir(package().join("test"))
        .unwrap()
        .filter(|entry| {
            let path = entry.as_ref().unwrap().path();
            path.to_string_lossy().ends_with(".test.js")
        })
        .count();
    assert!(files >= 3, "{files} test files");
    let mut npm_test = npm();
    npm_test
        .arg("test")
        .envs(node().get_envs().filter_map(|(k, v)| Some((k, v?))));
    npm_test.current_dir(package());
    for (what, mut command) in [("node --test", node_test()), ("npm test", npm_test)] {
        let stdout = succeed(&mut command);
        let count = |line: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(&format!("# {line} ")))
                .and_then(|n| n.trim().parse::<u32>().ok())
                .unwrap_or_else(|| panic!("{what}: no '# {line}' line in:\n{stdout}"))
        };
        assert!(count("pass") >= 15, "{what}:\n{stdout}");
        assert_eq!(count("suites"), 0, "{what}:\n{stdout}");
        for none in ["fail", "skipped", "todo", "cancelled"] {
            assert_eq!(count(none), 0, "{what}:\n{stdout}");
        }
        // A file taken for a test file that holds no test shows as a test named by its path.
        assert!(
            !stdout.lines().any(|l| l.starts_with("# Subtest: /")),
            "{what} ran a file that is not a test file:\n{stdout}"
        );
    }
}

fn node_test() -> Command {
    let mut command = node();
    command.arg("--test");
    command
}

#[test]
fn quickstart_example() {
    let stdout = succeed(node().arg("examples/quickstart.js"));
    assert_eq!(stdout.trim(), "admin=yes visits=1 cart=[42]");
}

#[test]
fn npm_install_of_the_package_finds_the_library_beside_it() {
    let project =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("node-app-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&project);
    std::fs::create_dir_all(&project).unwrap();
    node(); // npm ci done
    let packed = succeed(
        npm()
            .args(["pack", "--silent", "--pack-destination"])
            .arg(&project)
            .current_dir(package()),
    );
    let tarball = project.join(packed.trim());
    std::fs::write(project.join("package.json"), r#"{"type": "module"}"#).unwrap();
    succeed(
        npm()
            .args(["install", "--ignore-scripts", "--no-audit", "--no-fund"])
            .arg(&tarball)
            .current_dir(&project),
    );
    let installed = project.join("node_modules/sessmgr");
    // Only what package.json's "files" lists, and package.json itself.
    for file in ["index.js", "index.d.ts", "lib/native.js", "package.json"] {
        assert!(
            installed.join(file).exists(),
            "{file} is not in the package"
        );
    }
    assert!(!installed.join("test").exists() && !installed.join("test-support").exists());
    std::fs::copy(
        common::library_dir().join("libsessmgr.so"),
        installed.join("libsessmgr.so"),
    )
    .unwrap();
    let stdout = succeed(
        Command::new("node")
            .args([
                "--input-type=module",
                "-e",
                "import * as s from 'sessmgr'; console.log(s.version(), s.createSession().id.length)",
            ])
            .env_remove("SESSMGR_LIBRARY")
            .env("LD_LIBRARY_PATH", "")
            .current_dir(&project),
    );
    assert_eq!(stdout.trim(), format!("{} 32", env!("CARGO_PKG_VERSION")));
    let _ = std::fs::remove_dir_all(&project);
}
