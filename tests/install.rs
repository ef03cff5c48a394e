//! Installing like any C library: `make install-files` into a temporary prefix, then the C and
//! C++ quick-start programs built with `pkg-config --cflags --libs sessmgr` against it, and the
//! static library linked on its own. Also: the shared library exports only `sessmgr_` symbols.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// target/<profile>/deps, where this `cargo test` built libsessmgr.so and libsessmgr.a.
fn built() -> PathBuf {
    std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf()
}

fn command_output(command: &mut Command) -> String {
    common::machine::prepare();
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn install_into(prefix: &Path) {
    let _ = std::fs::remove_dir_all(prefix);
    command_output(
        Command::new("make")
            .arg("-C")
            .arg(root())
            .arg("install-files")
            .arg(format!("PREFIX={}", prefix.display()))
            .arg(format!("BUILD={}", built().display())),
    );
}

fn pkg_config(prefix: &Path, args: &[&str]) -> Vec<String> {
    let text = command_output(
        Command::new("pkg-config")
            .args(args)
            .arg("sessmgr")
            .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig")),
    );
    text.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn installs_and_builds_with_pkg_config() {
    let prefix =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("prefix-{}", std::process::id()));
    install_into(&prefix);
    let version = env!("CARGO_PKG_VERSION");
    let lib = prefix.join("lib");
    for name in [
        "libsessmgr.so",
        "libsessmgr.so.0.1",
        "libsessmgr.a",
        "pkgconfig/sessmgr.pc",
    ] {
        assert!(lib.join(name).exists(), "{name} is not installed");
    }
    assert!(lib.join(format!("libsessmgr.so.{version}")).exists());
    for header in ["sessmgr.h", "sessmgr.hpp"] {
        assert!(prefix.join("include").join(header).exists());
    }
    // The soname the links point to.
    let dynamic = command_output(
        Command::new("readelf")
            .arg("-d")
            .arg(lib.join(format!("libsessmgr.so.{version}"))),
    );
    assert!(
        dynamic.contains("Library soname: [libsessmgr.so.0.1]"),
        "{dynamic}"
    );
    // Installed without debug information, which is kept beside it for gdb.
    let sections = |file: &Path| command_output(Command::new("readelf").arg("-S").arg(file));
    let installed = sections(&lib.join(format!("libsessmgr.so.{version}")));
    assert!(!installed.contains(".debug_info"), "{installed}");
    assert!(installed.contains(".gnu_debuglink"), "{installed}");
    let debug = lib.join(format!(".debug/libsessmgr.so.{version}.debug"));
    assert!(sections(&debug).contains(".debug_info"));
    let static_lib = command_output(
        Command::new("objdump")
            .arg("-h")
            .arg(lib.join("libsessmgr.a")),
    );
    assert!(
        !static_lib.contains(".debug_info"),
        "the static library keeps debug information"
    );
    assert_eq!(pkg_config(&prefix, &["--modversion"]), [version]);

    let flags = pkg_config(&prefix, &["--cflags", "--libs"]);
    for (source, compiler, standard) in [
        ("examples_c/quickstart.c", "cc", "-std=c99"),
        ("examples_c/quickstart.cpp", "c++", "-std=c++17"),
    ] {
        let exe = prefix
            .join(Path::new(source).file_stem().unwrap())
            .with_extension(compiler.replace('+', "x"));
        command_output(
            Command::new(compiler)
                .args([standard, "-Wall", "-Wextra", "-Werror", "-pedantic"])
                .arg(root().join(source))
                .arg("-o")
                .arg(&exe)
                .args(&flags),
        );
        let stdout = command_output(Command::new(&exe).env("LD_LIBRARY_PATH", &lib));
        assert!(stdout.starts_with("admin=yes"), "{source}: {stdout}");
    }

    // The static library on its own, with the system libraries sessmgr.pc lists for it.
    let exe = prefix.join("quickstart-static");
    command_output(
        Command::new("cc")
            .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"])
            .arg(root().join("examples_c/quickstart.c"))
            .arg(format!("-I{}", prefix.join("include").display()))
            .arg("-o")
            .arg(&exe)
            .arg(lib.join("libsessmgr.a"))
            .args(
                pkg_config(&prefix, &["--static", "--libs-only-l"])
                    .iter()
                    .filter(|f| *f != "-lsessmgr"),
            ),
    );
    let needed = command_output(Command::new("readelf").arg("-d").arg(&exe));
    assert!(
        !needed.contains("libsessmgr"),
        "linked to the shared library: {needed}"
    );
    let stdout = command_output(&mut Command::new(&exe));
    assert!(stdout.starts_with("admin=yes"), "{stdout}");
    let _ = std::fs::remove_dir_all(&prefix);
}

#[test]
fn exports_only_sessmgr_symbols() {
    let text = command_output(
        Command::new("nm")
            .args(["-D", "--defined-only"])
            .arg(built().join("libsessmgr.so")),
    );
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    assert!(names.len() >= 30, "{names:?}");
    let foreign: Vec<&&str> = names
        .iter()
        .filter(|n| !n.starts_with("sessmgr_"))
        .collect();
    assert!(
        foreign.is_empty(),
        "exported without the prefix: {foreign:?}"
    );
    // And every function the header declares is exported.
    let header = std::fs::read_to_string(root().join("include/sessmgr.h")).unwrap();
    for line in header
        .lines()
        .filter(|l| l.contains(" sessmgr_") && l.ends_with(");") && !l.starts_with("typedef"))
    {
        let name = line[..line.find('(').unwrap()]
            .rsplit([' ', '*'])
            .next()
            .unwrap();
        assert!(names.contains(&name), "{name} is declared but not exported");
    }
}
