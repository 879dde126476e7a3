//! What becomes of an `Err` item: [`ItemError`], and [`Shown`] for errors
//! whose text is meant for the client.

use std::fmt::Display;

/// The error type of a stream of `Result` items.
///
/// # Policy
///
/// An `Err` item ends the stream with a final event named `error` (or the
/// route's `error_event`). **By default its data is a generic text,
/// `internal error`**, and the error's own `Display` text goes to the log
/// (`tracing`, level `error`, with the route and the peer): an error from a
/// database driver, an `anyhow` chain or a URL with credentials must not
/// reach every browser. To show an error's text to the client, wrap it in
/// [`Shown`]; that is the only way, so showing is always a decision made
/// where the error is made.
///
/// Implemented for every `E: Display` (hidden) and for [`Shown<E>`]
/// (shown). You do not implement it yourself.
///
/// ```
/// use futures_util::stream::{self, Stream};
/// use sse_runtime::Shown;
///
/// // The client reads `data: internal error`; the log has the detail.
/// fn hidden() -> impl Stream<Item = Result<u32, std::io::Error>> {
///     stream::iter([Ok(1), Err(std::io::Error::other("db at 10.0.0.7 refused"))])
/// }
///
/// // The client reads `data: quota exceeded, retry tomorrow`.
/// fn shown() -> impl Stream<Item = Result<u32, Shown<&'static str>>> {
///     stream::iter([Ok(1), Err(Shown("quota exceeded, retry tomorrow"))])
/// }
/// # let _ = (hidden(), shown());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` can't be the error of an SSE item",
    label = "the `Err` of a stream item must implement `std::fmt::Display`",
    note = "implement `Display` for `{Self}` (its text is logged, the client gets a generic text), or wrap it in `sse_runtime::Shown` to send its text to the client"
)]
pub trait ItemError: sealed::Sealed {
    /// The text the client may read, or `None` for the generic one.
    fn public_message(&self) -> Option<String>;

    /// The error's text, for the log.
    fn detail(&self) -> String;
}

mod sealed {
    pub trait Sealed {}
    impl<E: std::fmt::Display> Sealed for E {}
    impl<E: std::fmt::Display> Sealed for super::Shown<E> {}
}

// Coherent beside the impl for `Shown<E>` because `Shown` does not
// implement `Display` (and no other crate can make it).
#[diagnostic::do_not_recommend]
impl<E: Display> ItemError for E {
    fn public_message(&self) -> Option<String> {
        None
    }

    fn detail(&self) -> String {
        self.to_string()
    }
}

/// An error whose text is sent to the client as the data of the stream's
/// final error event; see [`ItemError`] for the default, which hides it.
///
/// ```
/// use sse_runtime::Shown;
///
/// #[derive(Debug)]
/// struct Quota { resets_in_s: u64 }
///
/// impl std::fmt::Display for Quota {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         write!(f, "quota exceeded, resets in {} s", self.resets_in_s)
///     }
/// }
///
/// let item: Result<u32, Shown<Quota>> = Err(Shown(Quota { resets_in_s: 60 }));
/// # let _ = item;
/// ```
///
/// It deliberately does not implement `Display` itself: that is what keeps
/// it apart from hidden errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Shown<E>(pub E);

impl<E: Display> ItemError for Shown<E> {
    fn public_message(&self) -> Option<String> {
        Some(self.0.to_string())
    }

    fn detail(&self) -> String {
        self.0.to_string()
    }
}

impl<E> From<E> for Shown<E> {
    fn from(error: E) -> Self {
        Shown(error)
    }
}
