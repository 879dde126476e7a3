//! Errors for an attribute in the wrong place, each pointing at what it is
//! on and saying where it goes instead.

use crate::route::Kind;
use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};

/// `#[controller]` on something other than an impl block, pointing at what
/// it is (`struct Events`, `fn events`).
pub(crate) fn controller_not_on_impl(item: &TokenStream) -> syn::Error {
    let usage = "`#[controller]` goes on an impl block";
    match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Struct(s)) => {
            struct_like(&s.struct_token, &s.ident, &s.generics, "a struct", usage)
        }
        Ok(syn::Item::Enum(e)) => {
            struct_like(&e.enum_token, &e.ident, &e.generics, "an enum", usage)
        }
        Ok(syn::Item::Union(u)) => {
            struct_like(&u.union_token, &u.ident, &u.generics, "a union", usage)
        }
        Ok(syn::Item::Fn(f)) => {
            let (fn_token, ident) = (&f.sig.fn_token, &f.sig.ident);
            syn::Error::new_spanned(
                quote!(#fn_token #ident),
                format!(
                    "{usage}, not on a function: make `{ident}` a method in `#[controller(\"path\")] impl MyController {{ .. }}` and mark it `#[sse(\"..\")]`"
                ),
            )
        }
        Ok(syn::Item::Trait(t)) => {
            let (trait_token, ident) = (&t.trait_token, &t.ident);
            syn::Error::new_spanned(
                quote!(#trait_token #ident),
                format!(
                    "{usage}, not on a trait: `#[controller(\"path\")] impl MyController {{ .. }}`"
                ),
            )
        }
        _ => syn::Error::new(
            Span::call_site(),
            format!("{usage}: `#[controller(\"path\")] impl MyController {{ .. }}`"),
        ),
    }
}

fn struct_like(
    keyword: &impl ToTokens,
    ident: &syn::Ident,
    generics: &syn::Generics,
    what: &str,
    usage: &str,
) -> syn::Error {
    // `impl<T> Feed<T>`, from the parameters' names alone.
    let names: Vec<String> = generics
        .params
        .iter()
        .map(|param| match param {
            syn::GenericParam::Lifetime(l) => l.lifetime.to_string(),
            syn::GenericParam::Type(t) => t.ident.to_string(),
            syn::GenericParam::Const(c) => c.ident.to_string(),
        })
        .collect();
    let params = if names.is_empty() {
        String::new()
    } else {
        format!("<{}>", names.join(", "))
    };
    syn::Error::new_spanned(
        quote!(#keyword #ident),
        format!(
            "{usage}, not on {what}: write `#[controller(\"path\")] impl{params} {ident}{params} {{ .. }}` with the route methods inside"
        ),
    )
}

/// `#[sse]` expanded on its own, i.e. not inside a `#[controller]` impl
/// (which would have read it). Spanned at the attribute.
pub(crate) fn sse_outside_controller(item: &TokenStream) -> syn::Error {
    let message = match syn::parse2::<syn::ImplItemFn>(item.clone()) {
        // A receiver means a method of an impl that lacks `#[controller]`.
        Ok(f) if matches!(f.sig.inputs.first(), Some(syn::FnArg::Receiver(_))) => {
            "`#[sse]` only works inside a `#[controller]` impl block: add `#[controller(\"path\")]` to the `impl` around this method"
        }
        Ok(_) => {
            "`#[sse]` only works inside a `#[controller]` impl block: move this function into `#[controller(\"path\")] impl MyController { .. }`, or add `#[controller(\"path\")]` to its `impl`"
        }
        Err(_) => {
            "`#[sse]` goes on a method of a `#[controller]` impl block, such as `#[sse(\"path\")] fn events(&self) -> impl Stream<Item = T>`"
        }
    };
    syn::Error::new(Span::call_site(), message)
}

/// A route attribute on an item of a controller that is not a method;
/// `what` says what it is on ("an associated constant").
pub(crate) fn route_not_on_method(kind: Kind, attr: &syn::Attribute, what: &str) -> syn::Error {
    let example = match kind {
        Kind::Sse => "fn events(&self) -> impl Stream<Item = T>",
        _ => "async fn index(&self) -> impl Responder",
    };
    let name = kind.name();
    syn::Error::new_spanned(
        attr,
        format!(
            "`#[{name}]` goes on a method, not on {what}: put it on a method such as `{example}`"
        ),
    )
}
