//! Every exported function goes through the boundary: its body is one call of `call` or
//! `guard` (which catch panics and record the last error) under its own name, and nothing is
//! exported from outside `src/ffi/`. Read from the source, so a new function that skips the
//! boundary fails here before it fails a user.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

/// (file, function name, the body's first statement) of each `extern "C" fn` in `dir`.
fn exported_functions(dir: &Path) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        if path.extension().is_some_and(|e| e == "rs") {
            let source = fs::read_to_string(&path).unwrap();
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let mut rest = source.as_str();
            while let Some(at) = rest.find("extern \"C\" fn ") {
                let after = &rest[at + "extern \"C\" fn ".len()..];
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let body = &after[after.find('{').expect("a body")..];
                // The body's first statement, comment lines skipped.
                let first = body[1..]
                    .lines()
                    .map(str::trim)
                    .find(|line| !line.is_empty() && !line.starts_with("//"))
                    .unwrap_or_default()
                    .to_owned();
                found.push((file.clone(), name, first));
                rest = after;
            }
        }
    }
    found
}

#[test]
fn every_exported_function_is_wrapped_by_the_boundary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let functions = exported_functions(&root.join("src/ffi"));
    assert!(functions.len() >= 30, "found only {functions:?}");
    let mut unwrapped = Vec::new();
    for (file, name, first) in &functions {
        let wrapped = [
            format!("call(\"{name}\","),
            format!("guard(\"{name}\","),
            format!("guard(\"{name}\""),
        ]
        .iter()
        .any(|start| first.starts_with(start.as_str()));
        if !wrapped {
            unwrapped.push(format!("{file}: {name} starts with `{first}`"));
        }
    }
    assert!(
        unwrapped.is_empty(),
        "exported functions not wrapped by boundary::call/guard under their own name:\n{}",
        unwrapped.join("\n")
    );
    // The header declares exactly these functions: none exported from elsewhere, none missed.
    let names: BTreeSet<String> = functions
        .iter()
        .map(|(_, name, _)| name.clone())
        .filter(|name| name.starts_with("sessmgr_"))
        .collect();
    assert_eq!(names, common::header_functions());
}

#[test]
fn nothing_is_exported_outside_the_ffi_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let source = fs::read_to_string(&path).unwrap();
            // (An `extern "C" fn` without `no_mangle` is a callback handed to the C library, such
            // as the fork handler in os.rs, not an export.)
            assert!(
                !source.contains("no_mangle") && !source.contains("export_name"),
                "{} exports a C function: only src/ffi/ may",
                path.display()
            );
        }
    }
}

/// The checker itself: a function that skips the boundary is caught.
#[test]
fn the_check_catches_an_unwrapped_function() {
    let dir = std::env::temp_dir().join(format!("sessmgr-boundary-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("bad.rs"),
        "pub extern \"C\" fn sessmgr_bad(x: i32) -> i32 {\n    x + 1\n}\n\
         pub extern \"C\" fn sessmgr_good() -> i32 {\n    // note\n    call(\"sessmgr_good\", || Ok(()))\n}\n\
         pub extern \"C\" fn sessmgr_misnamed() -> i32 {\n    call(\"sessmgr_good\", || Ok(()))\n}\n",
    )
    .unwrap();
    let found = exported_functions(&dir);
    fs::remove_dir_all(&dir).unwrap();
    let firsts: Vec<_> = found
        .iter()
        .map(|(_, n, f)| (n.as_str(), f.as_str()))
        .collect();
    assert_eq!(
        firsts,
        [
            ("sessmgr_bad", "x + 1"),
            ("sessmgr_good", "call(\"sessmgr_good\", || Ok(()))"),
            ("sessmgr_misnamed", "call(\"sessmgr_good\", || Ok(()))"),
        ]
    );
}
