//! `#[controller]`: read the impl block, collect its routes, and take the
//! route attributes off so the methods stay ordinary methods.

use proc_macro2::TokenStream;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ImplItem, ImplItemFn, ItemImpl};

use crate::args::{self, Opt};
use crate::ctx::Ctx;
use crate::misplaced;
use crate::path;
use crate::route::{self, Kind, Route};
use crate::signature::{self, Signature};

/// `#[controller("prefix", crate = "path")]`.
pub(crate) struct ControllerArgs {
    pub(crate) prefix: String,
    /// Path of the runtime crate in generated code.
    pub(crate) krate: syn::Path,
}

impl Default for ControllerArgs {
    fn default() -> Self {
        ControllerArgs {
            prefix: String::new(),
            krate: syn::parse_quote!(::sse_runtime),
        }
    }
}

/// Every option of `#[controller]`, the only place their keys are written.
const CONTROLLER_OPTIONS: &[Opt<ControllerArgs>] = &[Opt {
    key: "crate",
    set: set_crate,
}];

/// One route of the controller, ready for expansion.
pub(crate) struct RouteMethod {
    pub(crate) route: Route,
    pub(crate) full_path: String,
    pub(crate) method: syn::Ident,
    pub(crate) signature: Signature,
}

/// What [`collect`] found in the impl block.
#[derive(Default)]
pub(crate) struct Collected {
    pub(crate) routes: Vec<RouteMethod>,
    /// Some method is marked by the bare name `#[sse]`, which then has to
    /// resolve whether or not the user imported it.
    pub(crate) bare_sse: bool,
}

pub(crate) fn parse_args(ctx: &Ctx, tokens: TokenStream) -> ControllerArgs {
    let mut parsed = ControllerArgs::default();
    let Some(args) = args::parse(ctx, tokens) else {
        return parsed;
    };
    let mut args = args.into_iter().peekable();
    // The path is optional: without one, the routes mount at the root.
    if let Some(first) = args.next_if(|first| !matches!(first, Expr::Assign(_)))
        && let Some(lit) = args::path_literal(ctx, "controller", "controller", &first)
    {
        parsed.prefix = lit.value();
    }
    args::apply_options(ctx, "controller", CONTROLLER_OPTIONS, &mut parsed, args);
    parsed
}

fn set_crate(ctx: &Ctx, parsed: &mut ControllerArgs, key: &'static str, value: &Expr) {
    let Some(lit) = args::string(value) else {
        let example = path::quoted(value).unwrap_or_else(|| "\"my_sse\"".to_owned());
        ctx.error(
            value,
            format!("`{key}` takes a string: `{key} = {example}`"),
        );
        return;
    };
    match lit.parse::<syn::Path>() {
        Ok(path) => parsed.krate = path,
        Err(_) => ctx.error(
            lit,
            format!("`{key}` takes the path of the runtime crate as this crate names it, e.g. `{key} = \"my_sse\"`"),
        ),
    }
}

/// Collects the routes of `item` and takes their attributes off it.
pub(crate) fn collect(ctx: &Ctx, args: &ControllerArgs, item: &mut ItemImpl) -> Collected {
    check_inherent(ctx, item);
    let mut collected = Collected::default();
    for impl_item in &mut item.items {
        match impl_item {
            ImplItem::Fn(method) => collect_method(ctx, args, method, &mut collected),
            other => take_misplaced(ctx, other),
        }
    }
    collected
}

/// Routes are the type's own methods, not a trait's.
fn check_inherent(ctx: &Ctx, item: &ItemImpl) {
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
}

fn collect_method(
    ctx: &Ctx,
    args: &ControllerArgs,
    method: &mut ImplItemFn,
    collected: &mut Collected,
) {
    let attrs = take_route_attrs(method, &mut collected.bare_sse);
    if attrs.is_empty() {
        return;
    }
    let sse = check_sse_alone(ctx, &attrs);
    // Attributes first, then the signature: errors come in source order.
    let parsed: Vec<Route> = attrs
        .iter()
        .filter_map(|(kind, attr)| route::parse(ctx, *kind, attr))
        .collect();
    let signature = signature::analyse(ctx, method, sse);
    for route in parsed {
        let full_path = path::join(&args.prefix, &route.path);
        check_joined(ctx, &args.prefix, &route, &full_path);
        check_unique(ctx, &collected.routes, &route, &full_path);
        collected.routes.push(RouteMethod {
            route,
            full_path,
            method: method.sig.ident.clone(),
            signature: signature.clone(),
        });
    }
}

/// Takes the route attributes off `method`, returning them. `#[sse]` is left
/// behind as an inert marker (`#[sse(__in_controller)]`), so that the user's
/// `use sse_runtime::sse` counts as used; `bare_sse` records whether a
/// marker relies on that name.
fn take_route_attrs(method: &mut ImplItemFn, bare_sse: &mut bool) -> Vec<(Kind, Attribute)> {
    let mut found = Vec::new();
    method.attrs.retain_mut(|attr| {
        let Some(kind) = Kind::of(attr) else {
            return true;
        };
        found.push((kind, attr.clone()));
        if kind != Kind::Sse {
            return false;
        }
        *bare_sse |= attr.path().is_ident("sse");
        let path = attr.path().clone();
        let marker = syn::Ident::new(crate::IN_CONTROLLER, attr.span());
        *attr = syn::parse_quote_spanned!(attr.span()=> #[#path(#marker)]);
        true
    });
    found
}

/// An `#[sse]` method is only that. Returns whether it is one.
fn check_sse_alone(ctx: &Ctx, attrs: &[(Kind, Attribute)]) -> bool {
    let sse = attrs.iter().any(|(kind, _)| *kind == Kind::Sse);
    if sse {
        for (_, attr) in &attrs[1..] {
            ctx.error(
                attr,
                "an `#[sse]` method can't carry another route attribute",
            );
        }
    }
    sse
}

/// The controller's path and the route's can each be fine and clash once
/// joined: a placeholder in both, a tail placeholder in the first.
fn check_joined(ctx: &Ctx, prefix: &str, route: &Route, full_path: &str) {
    if path::validate(prefix).is_err() || path::validate(&route.path).is_err() {
        return; // already reported
    }
    if let Err(message) = path::validate(full_path) {
        ctx.error_at(route.path_span, message);
    }
}

/// One method per HTTP method and path.
fn check_unique(ctx: &Ctx, routes: &[RouteMethod], route: &Route, full_path: &str) {
    let http_method = route.kind.http_method();
    if let Some(previous) = routes
        .iter()
        .find(|r| r.full_path == full_path && r.route.kind.http_method() == http_method)
    {
        ctx.error_at(
            route.path_span,
            format!(
                "duplicate route `{} {full_path}`: already served by `{}`",
                http_method.to_uppercase(),
                previous.method
            ),
        );
    }
}

/// Route attributes on items that are not methods: reported, and taken off
/// so that they do not also expand on their own.
fn take_misplaced(ctx: &Ctx, item: &mut ImplItem) {
    let (what, attrs) = match item {
        ImplItem::Const(c) => ("an associated constant", &mut c.attrs),
        ImplItem::Type(t) => ("an associated type", &mut t.attrs),
        ImplItem::Macro(m) => ("a macro invocation", &mut m.attrs),
        _ => return,
    };
    attrs.retain(|attr| match Kind::of(attr) {
        Some(kind) => {
            ctx.push(misplaced::route_not_on_method(kind, attr, what));
            false
        }
        None => true,
    });
}
