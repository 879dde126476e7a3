//! A route method's signature: receiver, async, parameters, return shape.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{FnArg, GenericParam, ImplItemFn, PathArguments, ReturnType, Type};

use crate::ctx::Ctx;

/// How the method is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Receiver {
    /// `&self`: called on the shared controller.
    Ref,
    /// No receiver: an associated function.
    None,
}

/// One parameter of the method.
#[derive(Clone)]
pub(crate) enum Param {
    /// An actix-web extractor, extracted by actix before the call.
    Extract(Box<Type>),
    /// The injected `CleanUp`.
    CleanUp,
}

/// What an `#[sse]` method returns.
#[derive(Clone, Copy)]
pub(crate) enum Output {
    /// A stream.
    Stream,
    /// `Result<stream, E>`: an `Err` is an HTTP error before streaming.
    Result,
}

#[derive(Clone)]
pub(crate) struct Signature {
    pub(crate) receiver: Receiver,
    pub(crate) is_async: bool,
    pub(crate) params: Vec<Param>,
    pub(crate) output: Output,
    /// Where type errors about the returned value should point.
    pub(crate) output_span: Span,
}

/// actix-web implements `FromRequest` for tuples of up to 16 extractors.
const MAX_EXTRACTORS: usize = 16;

/// Checks `method` for use as a route; `sse` selects the stricter rules of
/// an `#[sse]` method (stream return, `CleanUp` allowed).
pub(crate) fn analyse(ctx: &Ctx, method: &ImplItemFn, sse: bool) -> Signature {
    let sig = &method.sig;
    let attr = if sse { "#[sse]" } else { "a route" };
    for param in &sig.generics.params {
        if !matches!(param, GenericParam::Lifetime(_)) {
            ctx.error(
                param,
                format!("{attr} method can't be generic: actix-web needs concrete extractor and return types"),
            );
        }
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        ctx.error(where_clause, format!("{attr} method can't have a `where` clause"));
    }
    let mut receiver = Receiver::None;
    let mut params = Vec::new();
    let mut cleanup_seen = false;
    for arg in &sig.inputs {
        match arg {
            FnArg::Receiver(r) => {
                if r.reference.is_none() {
                    ctx.error(r, format!("{attr} method can't take `self` by value: the controller is shared by all requests; take `&self`"));
                } else if r.mutability.is_some() {
                    ctx.error(r, format!("{attr} method can't take `&mut self`: the controller is shared by all requests; take `&self` and use interior mutability (a `Mutex`, an atomic, a channel)"));
                } else if r.colon_token.is_some() {
                    ctx.error(r, format!("{attr} method takes `&self`, not a typed receiver"));
                }
                receiver = Receiver::Ref;
            }
            FnArg::Typed(typed) => {
                let ty = &*typed.ty;
                if is_cleanup(ty) {
                    if !sse {
                        ctx.error(ty, "`CleanUp` is only available in `#[sse]` methods");
                    } else if cleanup_seen {
                        ctx.error(ty, "`CleanUp` is taken twice; take it once and clone it if needed (clones share the same callbacks)");
                    }
                    cleanup_seen = true;
                    params.push(Param::CleanUp);
                    continue;
                }
                match ty {
                    Type::Reference(_) => ctx.error(ty, "parameters of a route are actix-web extractors and must be owned types (e.g. `HttpRequest`, `web::Path<T>`, `web::Data<T>`), not references"),
                    Type::ImplTrait(_) => ctx.error(ty, "parameters of a route must be concrete extractor types, not `impl Trait`"),
                    _ => {}
                }
                params.push(Param::Extract(Box::new(ty.clone())));
            }
        }
    }
    let extractors = params.iter().filter(|p| matches!(p, Param::Extract(_))).count();
    if extractors > MAX_EXTRACTORS {
        ctx.error(&sig.inputs, format!("a route takes at most {MAX_EXTRACTORS} extractors (actix-web's limit); group some into one type implementing `FromRequest`"));
    }
    let (output, output_span) = match &sig.output {
        ReturnType::Type(_, ty) => (
            if is_result(ty) { Output::Result } else { Output::Stream },
            ty.span(),
        ),
        ReturnType::Default => {
            if sse {
                ctx.error_at(
                    sig.paren_token.span.close(),
                    "an `#[sse]` method must return a stream: add `-> impl Stream<Item = T>`",
                );
            }
            (Output::Stream, sig.ident.span())
        }
    };
    Signature {
        receiver,
        is_async: sig.asyncness.is_some(),
        params,
        output,
        output_span,
    }
}

/// `CleanUp` or a path ending in it (`sse_runtime::CleanUp`).
fn is_cleanup(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().is_some_and(|s| {
            s.ident == "CleanUp" && matches!(s.arguments, PathArguments::None)
        }),
        Type::Paren(p) => is_cleanup(&p.elem),
        Type::Group(g) => is_cleanup(&g.elem),
        _ => false,
    }
}

/// `Result<..>` under any path (`std::result::Result`, `actix_web::Result`).
fn is_result(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().is_some_and(|s| {
            s.ident == "Result" && matches!(s.arguments, PathArguments::AngleBracketed(_))
        }),
        Type::Paren(p) => is_result(&p.elem),
        Type::Group(g) => is_result(&g.elem),
        _ => false,
    }
}
