//! Every key `sessmgr_configure` takes (`Settings::KEYS`, the list its parser checks) is named
//! in the header's comment of `sessmgr_configure` and has a row in the settings table of
//! docs/reference.md.

use std::path::Path;

use sessmgr::Settings;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

#[test]
fn every_configure_key_is_in_the_header_and_the_reference() {
    let header = read("include/sessmgr.h");
    let end = header
        .find("sessmgr_status sessmgr_configure(")
        .expect("sessmgr_configure in the header");
    let start = header[..end].rfind("/**").unwrap();
    let comment = &header[start..end];
    let reference = read("docs/reference.md");
    for key in Settings::KEYS {
        assert!(
            comment.contains(&format!("`{key}`")),
            "the header's comment of sessmgr_configure does not name `{key}`"
        );
        assert!(
            reference.contains(&format!("| `{key}` |")),
            "the settings table of docs/reference.md has no row for `{key}`"
        );
    }
}
