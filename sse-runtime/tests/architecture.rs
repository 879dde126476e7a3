//! Keeps `ARCHITECTURE.md` true: every workspace member and every module
//! of `sse-runtime/src` is named in it, and nothing it marks as planned
//! exists yet.

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

/// The paths a tree line names: what comes before its description (the
/// first run of two spaces), e.g. `parse.rs, parse/`.
fn names(line: &str) -> Vec<&str> {
    let head = line.split("  ").next().unwrap_or_default();
    head.split(", ")
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect()
}

/// Whether a tree line names `entry` (a directory also by one of its files).
fn describes(line: &str, entry: &str) -> bool {
    names(line)
        .iter()
        .any(|name| *name == entry || (entry.ends_with('/') && name.starts_with(entry)))
}

/// The top-level entries of `sse-runtime/src`: `name.rs` for a file,
/// `name/` for a directory.
fn src_entries() -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut entries: Vec<String> = fs::read_dir(&src)
        .expect("reading sse-runtime/src")
        .map(|entry| {
            let entry = entry.expect("reading sse-runtime/src");
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() {
                format!("{name}/")
            } else {
                name
            }
        })
        .collect();
    entries.sort();
    entries
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
fn every_module_is_described() {
    let note = note();
    let block = block_after(&note, "## `sse-runtime/src`");
    let missing: Vec<String> = src_entries()
        .into_iter()
        .filter(|entry| !block.iter().any(|line| describes(line, entry)))
        .collect();
    assert!(
        missing.is_empty(),
        "sse-runtime/src has modules ARCHITECTURE.md does not describe: {missing:?}"
    );
}

#[test]
fn planned_modules_do_not_exist_yet() {
    let note = note();
    let block = block_after(&note, "## `sse-runtime/src`");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let landed: Vec<&str> = block
        .iter()
        .filter(|line| line.contains("planned"))
        .flat_map(|line| names(line))
        .filter(|name| src.join(name.trim_end_matches('/')).exists())
        .collect();
    assert!(
        landed.is_empty(),
        "ARCHITECTURE.md calls these planned, but they exist: {landed:?}"
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
        .filter(|member| {
            let dir = format!("{member}/");
            !block.iter().any(|line| describes(line, &dir))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "workspace members ARCHITECTURE.md does not describe: {missing:?}"
    );
}
