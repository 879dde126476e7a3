//! Attribute macros for `sse-runtime`. Depend on `sse-runtime`, which
//! re-exports them; this crate is not meant to be used directly.
//!
//! The crate is split the way the work flows: parse, validate, expand.
//! [`controller`] reads the impl block and its route attributes (`route`,
//! sharing `args` with the controller's own arguments, and `path`,
//! `duration`), checks each method (`signature`), and `expand` generates the
//! actix-web registration; `misplaced` words the errors for attributes in
//! the wrong place. Every problem found goes into one `Ctx` and is reported
//! together, next to the user's impl block, which is always emitted so that
//! IDEs keep working.

mod args;
mod controller;
mod ctx;
mod duration;
mod expand;
mod misplaced;
mod path;
mod route;
mod signature;

use proc_macro::TokenStream;
use quote::quote;

/// What `#[controller]` leaves in a route's `#[sse(..)]` once it has read
/// it, so that `#[sse]` then expands to the method unchanged.
const IN_CONTROLLER: &str = "__in_controller";

/// Turns an inherent `impl` block into an actix-web service whose routes are
/// its `#[sse]`, `#[get]`, `#[post]`, `#[put]`, `#[patch]` and `#[delete]`
/// methods, all mounted under the given path prefix.
///
/// See `sse_runtime::guide::routes` in the `sse-runtime` documentation for
/// the full story.
#[proc_macro_attribute]
pub fn controller(args: TokenStream, item: TokenStream) -> TokenStream {
    let ctx = ctx::Ctx::default();
    let args = controller::parse_args(&ctx, args.into());
    let mut item = match syn::parse::<syn::ItemImpl>(item.clone()) {
        Ok(item) => item,
        Err(_) => {
            let item = proc_macro2::TokenStream::from(item);
            ctx.push(misplaced::controller_not_on_impl(&item));
            let fallback = expand::fallback_for_type(&item, &args.krate);
            let errors = ctx.into_compile_errors();
            return quote!(#errors #item #fallback).into();
        }
    };
    let collected = controller::collect(&ctx, &args, &mut item);
    let sse_in_scope = if collected.bare_sse {
        expand::sse_in_scope(&args.krate)
    } else {
        proc_macro2::TokenStream::new()
    };
    let factory = if ctx.has_errors() {
        expand::fallback_factory(&item, &args.krate)
    } else {
        expand::service_factory(&item, &args.krate, &collected.routes)
    };
    let errors = ctx.into_compile_errors();
    quote!(#sse_in_scope #item #factory #errors).into()
}

/// Marks a method of a `#[controller]` impl as a Server-Sent Events route:
/// `#[sse("path", keep_alive = "15s", retry = "3s")]`.
///
/// The route expands into `sse_runtime::Sse`, one builder call per option
/// given: `keep_alive = "15s"` / `false`, `retry`, `max_duration`,
/// `idle_timeout`, `write_timeout = "10s"` / `false`,
/// `error_event = "name"` and `reconnect_on_end = true`. Options left out
/// keep `Sse`'s defaults.
///
/// It is read by `#[controller]`; on its own it is an error.
#[proc_macro_attribute]
pub fn sse(args: TokenStream, item: TokenStream) -> TokenStream {
    if args.to_string() == IN_CONTROLLER {
        return item;
    }
    let item = proc_macro2::TokenStream::from(item);
    let error = misplaced::sse_outside_controller(&item).to_compile_error();
    quote!(#error #item).into()
}
