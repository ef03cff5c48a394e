//! The layout the developers' guide asks for, checked: the registry holds the rules and
//! reaches sessions only through the store interface (`src/store/site.rs`), so that it names
//! no store, and a third store would touch `src/store/` alone.

use std::path::Path;

#[test]
fn the_registry_names_no_store() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/registry");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        checked += 1;
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            let lower = code.to_lowercase();
            assert!(
                !lower.contains("redis"),
                "{}:{}: the registry names a store: {code}",
                path.display(),
                n + 1
            );
        }
    }
    assert!(checked >= 10, "{checked} files in src/registry");
}
