//! Error collection: every problem in an item is reported in one build.

use std::cell::RefCell;

use proc_macro2::TokenStream;

/// Collects errors while parsing and validating; they are emitted together,
/// next to the (still compiling) user item, so one build shows them all.
#[derive(Default)]
pub(crate) struct Ctx {
    errors: RefCell<Option<syn::Error>>,
}

impl Ctx {
    pub(crate) fn error(&self, span: impl quote::ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(span, message));
    }

    pub(crate) fn error_at(&self, span: proc_macro2::Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    pub(crate) fn push(&self, error: syn::Error) {
        let mut errors = self.errors.borrow_mut();
        match errors.as_mut() {
            Some(all) => all.combine(error),
            None => *errors = Some(error),
        }
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.errors.borrow().is_some()
    }

    /// The collected errors as `compile_error!` invocations.
    pub(crate) fn into_compile_errors(self) -> TokenStream {
        self.errors
            .into_inner()
            .map(|e| e.to_compile_error())
            .unwrap_or_default()
    }
}
