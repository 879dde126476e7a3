//! A route method's signature: receiver, async, parameters, return shape.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{
    AngleBracketedGenericArguments, FnArg, GenericArgument, GenericParam, ImplItemFn,
    PathArguments, ReturnType, Type, TypeParamBound,
};

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
    /// A value the runtime hands in: one of [`INJECTED`].
    Injected(Injected),
}

/// The parameter types the runtime injects into `#[sse]` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    /// Callbacks run when the connection ends.
    CleanUp,
    /// The connection's sending half: the method sends instead of
    /// returning a stream.
    EventSink,
}

/// How an injected type is recognised (by the last segment of its path,
/// so `sse_runtime::CleanUp` works too) and what is said about misuse.
struct InjectedType {
    name: &'static str,
    kind: Injected,
    /// Taken by a route that is not `#[sse]`.
    outside_sse: &'static str,
    /// Taken a second time.
    twice: &'static str,
}

/// Every injected type, the only place their names are written.
const INJECTED: &[InjectedType] = &[
    InjectedType {
        name: "CleanUp",
        kind: Injected::CleanUp,
        outside_sse: "`CleanUp` is only available in `#[sse]` methods, where it runs when the event stream ends; remove it from this route",
        twice: "`CleanUp` is taken twice; take it once and clone it if needed (clones share the same callbacks)",
    },
    InjectedType {
        name: "EventSink",
        kind: Injected::EventSink,
        outside_sse: "`EventSink` is only available in `#[sse]` methods; this route answers with what it returns: make it `#[sse]` to stream events",
        twice: "`EventSink` is taken twice; take it once and clone it where needed (clones send into the same stream)",
    },
];

/// What an `#[sse]` method returns.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    /// A stream.
    Stream,
    /// `Result<stream, E>`: an `Err` is an HTTP error before streaming.
    Result,
    /// Nothing: the method sends through its `EventSink`.
    Sink,
    /// `Result<(), E>` with an `EventSink`: an `Err` before the first event
    /// is an HTTP error.
    SinkResult,
}

impl Output {
    /// Whether the method sends through an `EventSink`.
    pub(crate) fn sends(self) -> bool {
        matches!(self, Output::Sink | Output::SinkResult)
    }
}

#[derive(Clone)]
pub(crate) struct Signature {
    pub(crate) receiver: Receiver,
    pub(crate) is_async: bool,
    pub(crate) params: Vec<Param>,
    pub(crate) output: Output,
    /// Where type errors should point: at the stream type (not a stream),
    /// at its item type when it is written out (`impl Stream<Item = T>`:
    /// not an event), at `E` of `Result<_, E>` (not a `ResponseError`).
    pub(crate) spans: OutputSpans,
}

#[derive(Clone, Copy)]
pub(crate) struct OutputSpans {
    pub(crate) stream: Span,
    pub(crate) item: Span,
    pub(crate) error: Span,
}

/// actix-web implements `FromRequest` for tuples of up to 16 extractors.
const MAX_EXTRACTORS: usize = 16;

/// Checks `method` for use as a route; `sse` selects the stricter rules of
/// an `#[sse]` method (stream return, or an `EventSink`; injected types
/// allowed). Each rule is one function below; all of them run, so one build
/// shows every problem.
pub(crate) fn analyse(ctx: &Ctx, method: &ImplItemFn, sse: bool) -> Signature {
    let sig = &method.sig;
    let route = if sse { "an `#[sse]`" } else { "a route" };
    check_not_generic(ctx, &sig.generics, route);
    let mut receiver = Receiver::None;
    let mut params = Vec::new();
    for arg in &sig.inputs {
        match arg {
            FnArg::Receiver(r) => {
                check_receiver(ctx, r, route);
                receiver = Receiver::Ref;
            }
            FnArg::Typed(typed) => params.push(param(ctx, &typed.ty, sse, &params)),
        }
    }
    check_extractor_count(ctx, sig, &params, sse);
    let takes_sink = params
        .iter()
        .any(|p| matches!(p, Param::Injected(Injected::EventSink)));
    let (output, spans) = if sse && takes_sink {
        sink_output(ctx, sig)
    } else {
        output(ctx, sig, sse)
    };
    Signature {
        receiver,
        is_async: sig.asyncness.is_some(),
        params,
        output,
        spans,
    }
}

/// actix-web needs concrete types to extract and to respond with.
fn check_not_generic(ctx: &Ctx, generics: &syn::Generics, route: &str) {
    for param in &generics.params {
        if !matches!(param, GenericParam::Lifetime(_)) {
            ctx.error(
                param,
                format!("{route} method can't be generic: actix-web needs concrete extractor and return types; call a generic helper from it instead"),
            );
        }
    }
    if let Some(where_clause) = &generics.where_clause {
        ctx.error(
            where_clause,
            format!("{route} method can't have a `where` clause"),
        );
    }
}

/// The controller is shared by every request: `&self` only.
fn check_receiver(ctx: &Ctx, r: &syn::Receiver, route: &str) {
    if r.reference.is_none() {
        ctx.error(r, format!("{route} method can't take `self` by value: the controller is shared by all requests; take `&self`"));
    } else if r.mutability.is_some() {
        ctx.error(r, format!("{route} method can't take `&mut self`: the controller is shared by all requests; take `&self` and use interior mutability (a `Mutex`, an atomic, a channel)"));
    } else if r.colon_token.is_some() {
        ctx.error(
            r,
            format!("{route} method takes `&self`, not a typed receiver"),
        );
    }
}

/// One typed parameter: an injected type (once each, `#[sse]` only) or an
/// extractor. `before` are the parameters already read.
fn param(ctx: &Ctx, ty: &Type, sse: bool, before: &[Param]) -> Param {
    let Some(injected) = injected(ty) else {
        check_extractor(ctx, ty);
        return Param::Extract(Box::new(ty.clone()));
    };
    if matches!(ty, Type::Reference(_)) {
        ctx.error(
            ty,
            format!(
                "take `{0}` by value (`{0}` is a cheap handle; clone it to share it)",
                injected.name
            ),
        );
    } else if !sse {
        ctx.error(ty, injected.outside_sse);
    } else if before
        .iter()
        .any(|p| matches!(p, Param::Injected(kind) if *kind == injected.kind))
    {
        ctx.error(ty, injected.twice);
    }
    Param::Injected(injected.kind)
}

/// actix extracts owned values of concrete types.
fn check_extractor(ctx: &Ctx, ty: &Type) {
    match ty {
        Type::Reference(_) => ctx.error(ty, "parameters of a route are actix-web extractors and must be owned types (e.g. `HttpRequest`, `web::Path<T>`, `web::Data<T>`), not references"),
        Type::ImplTrait(_) => ctx.error(ty, "parameters of a route must be concrete extractor types, not `impl Trait`"),
        _ => {}
    }
}

/// An `#[sse]` handler takes one extractor of its own (the runtime's
/// `Connection`), so it leaves one fewer to the user.
fn check_extractor_count(ctx: &Ctx, sig: &syn::Signature, params: &[Param], sse: bool) {
    let extractors = params
        .iter()
        .filter(|p| matches!(p, Param::Extract(_)))
        .count();
    let (max, why) = if sse {
        (
            MAX_EXTRACTORS - 1,
            "actix-web's limit, less the one the runtime takes",
        )
    } else {
        (MAX_EXTRACTORS, "actix-web's limit")
    };
    if extractors > max {
        ctx.error(&sig.inputs, format!("a route takes at most {max} extractors ({why}); group some into one type implementing `FromRequest`"));
    }
}

/// The return shape, and the spans type errors about it should point at.
fn output(ctx: &Ctx, sig: &syn::Signature, sse: bool) -> (Output, OutputSpans) {
    let ReturnType::Type(_, ty) = &sig.output else {
        if sse {
            ctx.error_at(
                sig.paren_token.span.close(),
                "an `#[sse]` method must return a stream: add `-> impl Stream<Item = T>`, or take an `EventSink` parameter and send through it",
            );
        }
        return (Output::Stream, OutputSpans::at(sig.ident.span()));
    };
    let result_args = result_args(ty);
    let arg = |i: usize| result_args.as_ref().and_then(|args| args.get(i).copied());
    let stream_ty = arg(0).unwrap_or(ty);
    let stream = stream_ty.span();
    let spans = OutputSpans {
        stream,
        item: stream_item(stream_ty).map_or(stream, Spanned::span),
        error: arg(1).unwrap_or(ty).span(),
    };
    let output = if result_args.is_some() {
        Output::Result
    } else {
        Output::Stream
    };
    (output, spans)
}

/// The return shape of a method that sends through an `EventSink`: nothing,
/// `()`, or `Result<(), E>` (any path ending in `Result`).
fn sink_output(ctx: &Ctx, sig: &syn::Signature) -> (Output, OutputSpans) {
    let ReturnType::Type(_, ty) = &sig.output else {
        return (Output::Sink, OutputSpans::at(sig.ident.span()));
    };
    if is_unit(ty) {
        return (Output::Sink, OutputSpans::at(ty.span()));
    }
    if let Some(args) = result_args(ty).filter(|args| args.first().is_some_and(|ok| is_unit(ok))) {
        let spans = OutputSpans::at(args.get(1).map_or(ty.span(), |e| e.span()));
        return (Output::SinkResult, spans);
    }
    ctx.error(ty, "an `#[sse]` method that takes an `EventSink` sends its events through it and returns nothing (or `Result<(), E>` to refuse the request before streaming); return a stream without the `EventSink`, or send through it without returning one");
    (Output::Sink, OutputSpans::at(ty.span()))
}

impl OutputSpans {
    /// Every check pointed at one place.
    fn at(span: Span) -> Self {
        OutputSpans {
            stream: span,
            item: span,
            error: span,
        }
    }
}

fn is_unit(ty: &Type) -> bool {
    match ty {
        Type::Tuple(t) => t.elems.is_empty(),
        Type::Paren(p) => is_unit(&p.elem),
        Type::Group(g) => is_unit(&g.elem),
        _ => false,
    }
}

/// The injected type `ty` names, by the last segment of its path; also
/// behind a reference, which is refused with its own message.
fn injected(ty: &Type) -> Option<&'static InjectedType> {
    match ty {
        Type::Reference(r) => injected(&r.elem),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            if !matches!(last.arguments, PathArguments::None) {
                return None;
            }
            INJECTED.iter().find(|i| last.ident == i.name)
        }
        Type::Paren(p) => injected(&p.elem),
        Type::Group(g) => injected(&g.elem),
        _ => None,
    }
}

/// The type arguments of `Result<..>` under any path (`std::result::Result`,
/// `actix_web::Result`).
fn result_args(ty: &Type) -> Option<Vec<&Type>> {
    match ty {
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            let PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            (last.ident == "Result").then(|| type_args(args).collect())
        }
        Type::Paren(p) => result_args(&p.elem),
        Type::Group(g) => result_args(&g.elem),
        _ => None,
    }
}

fn type_args(args: &AngleBracketedGenericArguments) -> impl Iterator<Item = &Type> {
    args.args.iter().filter_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}

/// The item type of a stream type, where it is written out:
/// `impl Stream<Item = T>`, `Pin<Box<dyn Stream<Item = T> + Send>>`,
/// `BoxStream<'_, T>`.
fn stream_item(ty: &Type) -> Option<&Type> {
    let bounds = match ty {
        Type::ImplTrait(t) => &t.bounds,
        Type::TraitObject(t) => &t.bounds,
        Type::Paren(p) => return stream_item(&p.elem),
        Type::Group(g) => return stream_item(&g.elem),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            let PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            return match last.ident.to_string().as_str() {
                "Pin" | "Box" => type_args(args).next().and_then(stream_item),
                "BoxStream" | "LocalBoxStream" => type_args(args).last(),
                _ => None,
            };
        }
        _ => return None,
    };
    bounds.iter().find_map(|bound| {
        let TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let last = bound.path.segments.last()?;
        if last.ident != "Stream" {
            return None;
        }
        let PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        args.args.iter().find_map(|arg| match arg {
            GenericArgument::AssocType(assoc) if assoc.ident == "Item" => Some(&assoc.ty),
            _ => None,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The errors of `analyse` on a method taking `n` extractors.
    fn errors_with_extractors(n: usize, sse: bool) -> String {
        let params: Vec<String> = (0..n).map(|i| format!("a{i}: web::Query<u8>")).collect();
        let output = if sse {
            "impl Stream<Item = u8>"
        } else {
            "HttpResponse"
        };
        let method: ImplItemFn = syn::parse_str(&format!(
            "fn m(&self, {}) -> {output} {{}}",
            params.join(", ")
        ))
        .expect("a method");
        let ctx = Ctx::default();
        analyse(&ctx, &method, sse);
        ctx.into_compile_errors().to_string()
    }

    #[test]
    fn an_sse_route_leaves_one_extractor_to_the_runtime() {
        assert!(errors_with_extractors(15, true).is_empty());
        let errors = errors_with_extractors(16, true);
        assert!(
            errors.contains("a route takes at most 15 extractors"),
            "{errors}"
        );
        assert!(errors_with_extractors(16, false).is_empty());
        let errors = errors_with_extractors(17, false);
        assert!(
            errors.contains("a route takes at most 16 extractors"),
            "{errors}"
        );
    }
}
