//! Compile-time behaviour of `#[controller]` and `#[sse]`: every mistake in
//! `ui/fail` is a compile error with a pinned message (`.stderr` next to
//! it), every form in `ui/pass` compiles.
//!
//! Regenerate the expected output with
//! `TRYBUILD=overwrite cargo test -p sse-tests --test ui`, then review it.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
