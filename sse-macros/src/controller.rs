//! `#[controller]`: read the impl block, collect its routes, and strip the
//! route attributes so the methods stay ordinary methods.

use proc_macro2::TokenStream;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ImplItem, ItemImpl, Lit, Token};

use crate::ctx::Ctx;
use crate::path;
use crate::route::{self, Kind, Route};
use crate::signature::{self, Signature};

/// `#[controller("prefix", crate = "path")]`.
pub(crate) struct ControllerArgs {
    pub(crate) prefix: String,
    /// Path of the runtime crate in generated code.
    pub(crate) krate: syn::Path,
}

/// One route of the controller, ready for expansion.
pub(crate) struct RouteMethod {
    pub(crate) route: Route,
    pub(crate) full_path: String,
    pub(crate) method: syn::Ident,
    pub(crate) signature: Signature,
}

pub(crate) fn parse_args(ctx: &Ctx, args: TokenStream) -> ControllerArgs {
    let mut parsed = ControllerArgs {
        prefix: String::new(),
        krate: syn::parse_quote!(::sse_runtime),
    };
    let list =
        match syn::parse::Parser::parse2(Punctuated::<Expr, Token![,]>::parse_terminated, args) {
            Ok(list) => list,
            Err(err) => {
                ctx.push(err);
                return parsed;
            }
        };
    for (i, arg) in list.iter().enumerate() {
        match arg {
            Expr::Lit(ExprLit {
                lit: Lit::Str(lit), ..
            }) if i == 0 => {
                parsed.prefix = lit.value();
                if let Err(message) = path::validate(&parsed.prefix) {
                    ctx.error(lit, message);
                }
            }
            Expr::Assign(assign) if is_crate_key(&assign.left) => match &*assign.right {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(lit), ..
                }) => match lit.parse::<syn::Path>() {
                    Ok(path) => parsed.krate = path,
                    Err(_) => ctx.error(
                        lit,
                        "`crate` takes the path of the runtime crate as this crate names it, e.g. `crate = \"my_sse\"`",
                    ),
                },
                other => ctx.error(
                    other,
                    match path::quoted(other) {
                        Some(path) => format!("`crate` takes a string: `crate = {path}`"),
                        None => "`crate` takes a string: `crate = \"my_sse\"`".to_owned(),
                    },
                ),
            },
            Expr::Assign(assign) => {
                let key = &assign.left;
                ctx.error(
                    key,
                    format!(
                        "unknown option `{}`: `#[controller]` takes a path and optionally `crate = \"path\"`",
                        quote::quote!(#key)
                    ),
                );
            }
            other if i == 0 => ctx.error(
                other,
                match path::quoted(other) {
                    Some(path) => format!("the controller path must be a string literal: `#[controller({path})]`"),
                    None => "the controller path must be a string literal: `#[controller(\"path\")]`".to_owned(),
                },
            ),
            other => ctx.error(
                other,
                "expected `#[controller(\"path\")]`, optionally followed by `crate = \"path\"`",
            ),
        }
    }
    parsed
}

/// The error for `#[controller]` on something other than an impl block,
/// pointing at what it is (`struct Events`, `fn events`).
pub(crate) fn not_an_impl(item: &TokenStream) -> syn::Error {
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
                quote::quote!(#fn_token #ident),
                format!(
                    "{usage}, not on a function: make `{ident}` a method in `#[controller(\"path\")] impl MyController {{ .. }}` and mark it `#[sse(\"..\")]`"
                ),
            )
        }
        Ok(syn::Item::Trait(t)) => {
            let (trait_token, ident) = (&t.trait_token, &t.ident);
            syn::Error::new_spanned(
                quote::quote!(#trait_token #ident),
                format!(
                    "{usage}, not on a trait: `#[controller(\"path\")] impl MyController {{ .. }}`"
                ),
            )
        }
        _ => syn::Error::new(
            proc_macro2::Span::call_site(),
            format!("{usage}: `#[controller(\"path\")] impl MyController {{ .. }}`"),
        ),
    }
}

fn struct_like(
    keyword: &impl quote::ToTokens,
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
        quote::quote!(#keyword #ident),
        format!(
            "{usage}, not on {what}: write `#[controller(\"path\")] impl{params} {ident}{params} {{ .. }}` with the route methods inside"
        ),
    )
}

fn is_crate_key(expr: &Expr) -> bool {
    matches!(expr, Expr::Path(p) if p.path.is_ident("crate"))
}

/// Collects the routes of `item` and removes their attributes from it.
pub(crate) fn collect(ctx: &Ctx, args: &ControllerArgs, item: &mut ItemImpl) -> Vec<RouteMethod> {
    if let Some((_, trait_path, _)) = &item.trait_ {
        let self_ty = &item.self_ty;
        ctx.error(
            trait_path,
            format!(
                "`#[controller]` goes on an inherent impl block, not a trait impl: put the routes in `impl {} {{ .. }}`",
                quote::quote!(#self_ty)
            ),
        );
    }
    let mut routes: Vec<RouteMethod> = Vec::new();
    for impl_item in &mut item.items {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let mut found = Vec::new();
        method.attrs.retain_mut(|attr| match Kind::of(attr) {
            Some(Kind::Sse) => {
                found.push((Kind::Sse, attr.clone()));
                // Kept, as a no-op, so the user's `use sse_runtime::sse`
                // counts as used; the other route attributes are removed.
                let path = attr.path().clone();
                *attr = syn::parse_quote_spanned!(attr.span()=> #[#path(__in_controller)]);
                true
            }
            Some(kind) => {
                found.push((kind, attr.clone()));
                false
            }
            None => true,
        });
        if found.is_empty() {
            continue;
        }
        let sse = found.iter().any(|(kind, _)| *kind == Kind::Sse);
        if sse && found.len() > 1 {
            for (_, attr) in &found[1..] {
                ctx.error(
                    attr,
                    "an `#[sse]` method can't carry another route attribute",
                );
            }
        }
        // Attributes first, then the signature: errors come in source order.
        let parsed: Vec<Route> = found
            .iter()
            .filter_map(|(kind, attr)| route::parse(ctx, *kind, attr))
            .collect();
        let signature = signature::analyse(ctx, method, sse);
        for route in parsed {
            let full_path = path::join(&args.prefix, &route.path);
            if let Some(previous) = routes.iter().find(|r| {
                r.full_path == full_path && r.route.kind.http_method() == route.kind.http_method()
            }) {
                ctx.error_at(
                    route.path_span,
                    format!(
                        "duplicate route `{} {full_path}`: already served by `{}`",
                        route.kind.http_method().to_uppercase(),
                        previous.method
                    ),
                );
            }
            routes.push(RouteMethod {
                route,
                full_path,
                method: method.sig.ident.clone(),
                signature: signature.clone(),
            });
        }
    }
    routes
}
