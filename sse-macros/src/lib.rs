//! Attribute macros for `sse-runtime`. Depend on `sse-runtime`, which
//! re-exports them; this crate is not meant to be used directly.
//!
//! The crate is split the way the work flows: [`controller`] parses the
//! impl block and its route attributes (`route`, `path`, `duration`), checks
//! each method (`signature`), and `expand` generates the actix-web
//! registration. Every problem found goes into one `Ctx` and is reported
//! together, next to the user's impl block, which is always emitted so that
//! IDEs keep working.

mod controller;
mod ctx;
mod duration;
mod expand;
mod path;
mod route;
mod signature;

use proc_macro::TokenStream;

/// What `#[controller]` leaves in a route's `#[sse(..)]` once it has read it.
const IN_CONTROLLER: &str = "__in_controller";
use quote::quote;

/// Turns an inherent `impl` block into an actix-web service whose routes are
/// its `#[sse]`, `#[get]`, `#[post]`, `#[put]`, `#[patch]` and `#[delete]`
/// methods, all mounted under the given path prefix.
///
/// See the `sse-runtime` documentation for the full guide.
#[proc_macro_attribute]
pub fn controller(args: TokenStream, item: TokenStream) -> TokenStream {
    let ctx = ctx::Ctx::default();
    let args = controller::parse_args(&ctx, args.into());
    let mut item = match syn::parse::<syn::ItemImpl>(item.clone()) {
        Ok(item) => item,
        Err(_) => {
            let item = proc_macro2::TokenStream::from(item);
            ctx.push(controller::not_an_impl(&item));
            let fallback = expand::fallback_for_type(&item, &args.krate);
            let errors = ctx.into_compile_errors();
            return quote!(#errors #item #fallback).into();
        }
    };
    let routes = controller::collect(&ctx, &args, &mut item);
    let factory = if ctx.has_errors() {
        expand::fallback_factory(&item, &args.krate)
    } else {
        expand::service_factory(&item, &args.krate, &routes)
    };
    let errors = ctx.into_compile_errors();
    quote!(#item #factory #errors).into()
}

/// Marks a method of a `#[controller]` impl as a Server-Sent Events route:
/// `#[sse("path", keep_alive = "15s", retry = "3s")]`.
///
/// It is read by `#[controller]`; on its own it is an error.
#[proc_macro_attribute]
pub fn sse(args: TokenStream, item: TokenStream) -> TokenStream {
    if args.to_string() == IN_CONTROLLER {
        return item;
    }
    let item = proc_macro2::TokenStream::from(item);
    // A receiver means a method of an impl that lacks `#[controller]`.
    let is_method = syn::parse2::<syn::ImplItemFn>(item.clone())
        .is_ok_and(|f| matches!(f.sig.inputs.first(), Some(syn::FnArg::Receiver(_))));
    let message = if is_method {
        "`#[sse]` only works inside a `#[controller]` impl block: add `#[controller(\"path\")]` to the `impl` around this method"
    } else {
        "`#[sse]` only works inside a `#[controller]` impl block: move this function into `#[controller(\"path\")] impl MyController { .. }`, or add `#[controller(\"path\")]` to its `impl`"
    };
    let error = syn::Error::new(proc_macro2::Span::call_site(), message).to_compile_error();
    quote!(#error #item).into()
}
