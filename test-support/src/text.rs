//! Byte-string helpers for assertions on bodies.

use memchr::memmem;

/// Lossy UTF-8 rendering, for assertion messages and comparisons with
/// string literals.
///
/// ```
/// assert_eq!(sse_test_support::lossy(b"data: x\n\n"), "data: x\n\n");
/// ```
pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether `haystack` contains `needle` (an empty needle never matches).
///
/// ```
/// use sse_test_support::contains;
/// assert!(contains(b"data: a\n\n", b"\n\n"));
/// assert!(!contains(b"data: a\n", b"\n\n"));
/// ```
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    count(haystack, needle) > 0
}

/// How many non-overlapping times `needle` occurs in `haystack` (an empty
/// needle never matches).
///
/// ```
/// use sse_test_support::count;
/// assert_eq!(count(b": keep-alive\n\n: keep-alive\n\n", b": keep-alive\n\n"), 2);
/// assert_eq!(count(b"aaa", b"aa"), 1);
/// ```
pub fn count(haystack: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() {
        return 0;
    }
    memmem::find_iter(haystack, needle).count()
}
