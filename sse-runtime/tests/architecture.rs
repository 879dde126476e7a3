//! Keeps `ARCHITECTURE.md` true: every workspace member, and every `.rs`
//! file under `sse-runtime/src` and `sse-macros/src` (sub-folders
//! included), is named in it, and every path it names exists.

use std::fs;
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("sse-runtime lives inside the workspace")
        .to_path_buf()
}

fn note() -> String {
    let path = repo_root().join("ARCHITECTURE.md");
    fs::read_to_string(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
}

/// The lines of the fenced block that follows `heading`.
fn block_after<'a>(note: &'a str, heading: &str) -> Vec<&'a str> {
    let start = note
        .find(heading)
        .unwrap_or_else(|| panic!("ARCHITECTURE.md has no `{heading}` section"));
    note[start..]
        .lines()
        .skip_while(|line| !line.starts_with("```"))
        .skip(1)
        .take_while(|line| !line.starts_with("```"))
        .collect()
}

/// The paths a tree line names: its first word, and the words after it
/// as long as each one before ends in a comma (`parse.rs, parse/  ...`).
fn names(line: &str) -> Vec<&str> {
    let mut names = Vec::new();
    for word in line.split_whitespace() {
        let name = word.trim_end_matches(',');
        if !name.is_empty() {
            names.push(name);
        }
        if !word.ends_with(',') {
            break;
        }
    }
    names
}

/// Whether some line of `block` names `path` exactly.
fn named(block: &[&str], path: &str) -> bool {
    block.iter().any(|line| names(line).contains(&path))
}

/// Every `.rs` file under `dir`, as a path relative to it with `/`
/// separators (`hub/waiters.rs`), sorted.
fn rust_files(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        let entries =
            fs::read_dir(dir).unwrap_or_else(|err| panic!("reading {}: {err}", dir.display()));
        for entry in entries {
            let entry = entry.unwrap_or_else(|err| panic!("reading {}: {err}", dir.display()));
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if path.is_dir() {
                walk(&path, &format!("{prefix}{name}/"), out);
            } else if name.ends_with(".rs") {
                out.push(format!("{prefix}{name}"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out);
    out.sort();
    out
}

/// The files of `src` (relative to the repository) that the block under
/// `heading` does not name.
fn unnamed_files(src: &str, heading: &str) -> Vec<String> {
    let note = note();
    let block = block_after(&note, heading);
    let files = rust_files(&repo_root().join(src));
    assert!(!files.is_empty(), "{src} holds no .rs files");
    files
        .into_iter()
        .filter(|file| !named(&block, file))
        .collect()
}

/// The paths the block under `heading` names that do not exist under
/// `base` (relative to the repository).
fn missing_paths(base: &str, heading: &str) -> Vec<String> {
    let note = note();
    let base = repo_root().join(base);
    block_after(&note, heading)
        .iter()
        .flat_map(|line| names(line))
        .filter(|name| !base.join(name.trim_end_matches('/')).exists())
        .map(str::to_owned)
        .collect()
}

fn workspace_members() -> Vec<String> {
    let manifest = fs::read_to_string(repo_root().join("Cargo.toml")).expect("reading Cargo.toml");
    let list = manifest
        .split_once("members = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .expect("the workspace manifest lists its members")
        .0;
    list.split(',')
        .map(|member| member.trim().trim_matches('"').to_string())
        .filter(|member| !member.is_empty())
        .collect()
}

#[test]
fn every_runtime_file_is_described() {
    let missing = unnamed_files("sse-runtime/src", "## `sse-runtime/src`");
    assert!(
        missing.is_empty(),
        "sse-runtime/src has files ARCHITECTURE.md does not name: {missing:?}"
    );
}

#[test]
fn every_macros_file_is_described() {
    let missing = unnamed_files("sse-macros/src", "## `sse-macros/src`");
    assert!(
        missing.is_empty(),
        "sse-macros/src has files ARCHITECTURE.md does not name: {missing:?}"
    );
}

#[test]
fn every_named_path_exists() {
    let mut missing = Vec::new();
    for (base, heading) in [
        ("", "## Workspace"),
        ("sse-runtime/src", "## `sse-runtime/src`"),
        ("sse-macros/src", "## `sse-macros/src`"),
    ] {
        missing.extend(
            missing_paths(base, heading)
                .into_iter()
                .map(|path| format!("{heading}: {path}")),
        );
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names paths that do not exist: {missing:?}"
    );
}

#[test]
fn nothing_is_described_as_still_to_come() {
    let note = note().to_lowercase();
    let stale: Vec<&str> = ["planned", "will go", "what comes next", "not built yet"]
        .into_iter()
        .filter(|phrase| note.contains(phrase))
        .collect();
    assert!(
        stale.is_empty(),
        "ARCHITECTURE.md describes the tree as it will be, not as it is: {stale:?}"
    );
}

#[test]
fn every_workspace_member_is_described() {
    let note = note();
    let block = block_after(&note, "## Workspace");
    let members = workspace_members();
    assert!(!members.is_empty());
    let missing: Vec<&String> = members
        .iter()
        .filter(|member| !named(&block, &format!("{member}/")))
        .collect();
    assert!(
        missing.is_empty(),
        "workspace members ARCHITECTURE.md does not describe: {missing:?}"
    );
}

#[test]
fn names_are_read_from_tree_lines() {
    assert_eq!(
        names("parse.rs, parse/  the parser"),
        ["parse.rs", "parse/"]
    );
    assert_eq!(
        names("response/responder.rs Sse: the responder"),
        ["response/responder.rs"]
    );
    assert_eq!(names("hub/mod.rs          Hub, publish"), ["hub/mod.rs"]);
}
