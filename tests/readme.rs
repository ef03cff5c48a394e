//! The README's quick-start programs are the very files the tests build and run.

use std::path::Path;

#[test]
fn readme_quick_starts_are_the_tested_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for (file, fence) in [
        ("examples_c/quickstart.c", "```c\n"),
        ("examples_c/quickstart.cpp", "```cpp\n"),
        ("bindings/python/examples/quickstart.py", "```python\n"),
        ("bindings/python/examples/wsgi_hits.py", "```python\n"),
        ("bindings/node/examples/quickstart.js", "```js\n"),
        ("bindings/go/example_test.go", "```go\n"),
    ] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        assert!(
            readme.contains(&format!("{fence}{text}```")),
            "README.md does not show {file} as it is"
        );
    }
    for command in ["make demo", "cargo test"] {
        assert!(readme.contains(command), "the quick start lost `{command}`");
    }
}
