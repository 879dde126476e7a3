//! Compile-time behaviour of `#[controller]` and `#[sse]`: every mistake in
//! `ui/fail` is a compile error with a pinned message (`.stderr` next to
//! it), every form in `ui/pass` compiles.
//!
//! Regenerate the expected output with
//! `TRYBUILD=overwrite cargo test -p sse-tests --test ui`, then review it.
//!
//! trybuild builds without incremental compilation, where rustc merges some
//! repeated errors that a user's incremental build shows twice (a type
//! error reached through two bounds). The generated code fails one bound
//! per mistake so that both agree; after changing it, also count the errors
//! of `cargo check --bins --keep-going` run in
//! `target/tests/trybuild/sse-tests` against the `.stderr` files.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
