//! The README and `docs/` show the very files the tests build and run; the README stays a front
//! page (at most 300 lines, the two commands, every page of `docs/` linked); and every relative
//! link of the README and of `docs/` leads to a file, every `#anchor` to a heading there.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The README and every Markdown page of docs/.
fn pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    pages.insert(0, root().join("README.md"));
    pages
}

#[test]
fn quick_starts_are_the_tested_files() {
    for (file, page, fence) in [
        ("examples_c/quickstart.c", "README.md", "```c\n"),
        ("examples_c/quickstart.cpp", "docs/c-and-cpp.md", "```cpp\n"),
        (
            "bindings/python/examples/quickstart.py",
            "docs/python.md",
            "```python\n",
        ),
        (
            "bindings/python/examples/wsgi_hits.py",
            "docs/python.md",
            "```python\n",
        ),
        (
            "bindings/node/examples/quickstart.js",
            "docs/node.md",
            "```js\n",
        ),
        ("bindings/go/example_test.go", "docs/go.md", "```go\n"),
    ] {
        let text = read(&root().join(file));
        assert!(
            read(&root().join(page)).contains(&format!("{fence}{text}```")),
            "{page} does not show {file} as it is"
        );
    }
}

#[test]
fn the_readme_is_a_front_page() {
    let readme = read(&root().join("README.md"));
    let lines = readme.lines().count();
    assert!(lines <= 300, "README.md has {lines} lines");
    for command in ["make demo", "cargo test", "make serve"] {
        assert!(readme.contains(command), "the quick start lost `{command}`");
    }
    // The C example is short enough to read at a glance.
    let example = read(&root().join("examples_c/quickstart.c"));
    assert!(example.lines().count() <= 22, "examples_c/quickstart.c");
    for page in &pages()[1..] {
        let name = page.file_name().unwrap().to_string_lossy();
        assert!(
            readme.contains(&format!("(docs/{name})"))
                || readme.contains(&format!("(docs/{name}#")),
            "README.md does not link docs/{name}"
        );
    }
}

#[test]
fn every_link_leads_somewhere() {
    let mut checked = 0;
    for page in pages() {
        let text = read(&page);
        let dir = page.parent().unwrap();
        for target in links(&text) {
            if target.starts_with("http://") || target.starts_with("https://") {
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target.as_str(), None),
            };
            let file = if path.is_empty() {
                page.clone()
            } else {
                dir.join(path)
            };
            assert!(
                file.exists(),
                "{}: the link to {target} leads to no file",
                page.display()
            );
            if let Some(anchor) = anchor {
                let headings = slugs(&read(&file));
                assert!(
                    headings.contains(anchor),
                    "{}: the link to {target} names no heading of {} ({headings:?})",
                    page.display(),
                    file.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "{checked} links");
}

/// The page's lines outside fenced code.
fn prose(text: &str) -> impl Iterator<Item = &str> {
    let mut fenced = false;
    text.lines().filter(move |line| {
        if line.starts_with("```") {
            fenced = !fenced;
        }
        !fenced && !line.starts_with("```")
    })
}

/// The targets of the page's Markdown links and images, `[text](target)`, outside code.
fn links(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in prose(text) {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            found.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    found
}

/// The anchors GitHub gives the page's headings: the heading's text (a link's text only),
/// lower case, without punctuation but `-` and `_`, spaces as `-`; a repeated one gets `-1`,
/// `-2`, …
fn slugs(text: &str) -> BTreeSet<String> {
    let mut slugs = BTreeSet::new();
    for line in prose(text).filter(|line| line.starts_with('#')) {
        let heading = line.trim_start_matches('#').trim();
        // A link's text stays, its target goes.
        let mut plain = String::new();
        let mut rest = heading;
        while let Some(at) = rest.find("](") {
            plain.push_str(&rest[..at]);
            rest = rest[at..].split_once(')').map_or("", |(_, after)| after);
        }
        plain.push_str(rest);
        let slug: String = plain
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut unique = slug.clone();
        let mut n = 0;
        while slugs.contains(&unique) {
            n += 1;
            unique = format!("{slug}-{n}");
        }
        slugs.insert(unique);
    }
    slugs
}
