//! The committed header must be what cbindgen generates from the sources now.
//! `SESSMGR_BLESS_HEADER=1 cargo test --test header` rewrites it.

use std::path::Path;

#[test]
fn committed_header_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config =
        cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    // The version macros come from Cargo.toml.
    config.after_includes = Some(format!(
        "\n/* The version of this header; sessmgr_version() gives the library's. */\n\
         #define SESSMGR_VERSION_MAJOR {}\n#define SESSMGR_VERSION_MINOR {}\n#define SESSMGR_VERSION_PATCH {}\n\
         #define SESSMGR_VERSION \"{}\"",
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION"),
    ));
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("the header is UTF-8");
    let path = root.join("include/sessmgr.h");
    if std::env::var_os("SESSMGR_BLESS_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write include/sessmgr.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/sessmgr.h is stale: regenerate it with SESSMGR_BLESS_HEADER=1 cargo test --test header"
    );
}

#[test]
fn every_name_in_the_header_has_the_prefix() {
    let header =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/sessmgr.h"))
            .unwrap();
    let mut names = Vec::new();
    for line in header.lines() {
        let words: Vec<&str> = line
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .collect();
        match words.as_slice() {
            ["define", name, ..] => names.push(name.to_string()),
            ["typedef", .., name] if line.ends_with(';') && !line.contains('(') => {
                names.push(name.to_string())
            }
            _ if line.contains('(')
                && line.ends_with(");")
                && !line.starts_with(' ')
                && !line.starts_with("typedef") =>
            {
                let before_paren = &line[..line.find('(').unwrap()];
                names.push(before_paren.rsplit([' ', '*']).next().unwrap().to_string());
            }
            _ => {}
        }
    }
    assert!(names.len() > 40, "found only {names:?}");
    for name in names {
        assert!(
            name.starts_with("sessmgr_") || name.starts_with("SESSMGR_"),
            "{name} in include/sessmgr.h lacks the sessmgr_ prefix"
        );
    }
}
