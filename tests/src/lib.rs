//! Integration tests live in `tests/`.

/// The repository README's examples, compiled and run as doc tests. They
/// are here, not in `sse-runtime`, because the README is outside that
/// crate's package (which has a README of its own, tested there).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
