//! Helpers shared by integration tests.

use std::collections::BTreeSet;
use std::path::Path;

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
