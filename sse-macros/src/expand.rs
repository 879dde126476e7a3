//! Code generation: an `HttpServiceFactory` impl that registers every route.

use std::time::Duration;

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ItemImpl;

use crate::controller::RouteMethod;
use crate::route::{Kind, SseOptions};
use crate::signature::{Injected, Output, Param, Receiver};

/// The registration code for `item`'s routes. `krate` is the path of the
/// runtime crate; everything generated reaches it through `__private`.
pub(crate) fn service_factory(
    item: &ItemImpl,
    krate: &syn::Path,
    routes: &[RouteMethod],
) -> TokenStream {
    let self_ty = &item.self_ty;
    let (impl_generics, _, where_clause) = item.generics.split_for_impl();
    let where_clause = match where_clause {
        Some(w) => quote!(#w, Self: 'static),
        None => quote!(where Self: 'static),
    };

    // One actix `Resource` per path, holding every method's route, so that
    // GET and POST on one path both match (separate resources would make the
    // first one answer 405 to the other's method).
    let mut paths: Vec<&str> = Vec::new();
    for route in routes {
        if !paths.contains(&route.full_path.as_str()) {
            paths.push(&route.full_path);
        }
    }
    let resources = paths.iter().map(|path| {
        let handlers = routes
            .iter()
            .filter(|r| r.full_path == *path)
            .map(route_registration);
        quote! {
            __sse::actix_web::dev::HttpServiceFactory::register(
                __sse::actix_web::Resource::new(#path) #(#handlers)*,
                __config,
            );
        }
    });

    quote! {
        const _: () = {
            use #krate::__private as __sse;
            #[allow(unused_imports)]
            use __sse::{
                BadPlainItemsKind as _, BadResultItemsKind as _, NotAStreamKind as _,
                PlainItemsKind as _, ResultItemsKind as _,
            };

            #[automatically_derived]
            impl #impl_generics __sse::actix_web::dev::HttpServiceFactory for #self_ty #where_clause {
                fn register(self, __config: &mut __sse::actix_web::dev::AppService) {
                    #[allow(unused_variables)]
                    let __this = __sse::std::sync::Arc::new(self);
                    #(#resources)*
                }
            }
        };
    }
}

/// Lets the bare `#[sse(__in_controller)]` markers resolve whether or not
/// the user imported `sse`: a glob import loses to the user's own `use`
/// (which so stays used), and stands in where there is none. Without it,
/// `#[sse]` alone of the route attributes would need an import.
pub(crate) fn sse_in_scope(krate: &syn::Path) -> TokenStream {
    quote! {
        #[allow(unused_imports)]
        use #krate::__private::attrs::*;
    }
}

/// When the controller has errors: a registration that does nothing, so the
/// user's `App::new().service(..)` does not add a second, misleading error.
pub(crate) fn fallback_factory(item: &ItemImpl, krate: &syn::Path) -> TokenStream {
    let self_ty = &item.self_ty;
    noop_factory(quote!(#self_ty), &item.generics, krate)
}

/// `#[controller]` put on a struct, enum or union: the same do-nothing
/// registration for that type, so `App::new().service(..)` of it adds no
/// second error to the misplaced attribute's. Nothing for other items.
pub(crate) fn fallback_for_type(item: &TokenStream, krate: &syn::Path) -> TokenStream {
    let (ident, generics) = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Struct(s)) => (s.ident, s.generics),
        Ok(syn::Item::Enum(e)) => (e.ident, e.generics),
        Ok(syn::Item::Union(u)) => (u.ident, u.generics),
        _ => return TokenStream::new(),
    };
    let (_, ty_generics, _) = generics.split_for_impl();
    noop_factory(quote!(#ident #ty_generics), &generics, krate)
}

fn noop_factory(self_ty: TokenStream, generics: &syn::Generics, krate: &syn::Path) -> TokenStream {
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    quote! {
        const _: () = {
            use #krate::__private as __sse;
            impl #impl_generics __sse::actix_web::dev::HttpServiceFactory for #self_ty #where_clause {
                fn register(self, _: &mut __sse::actix_web::dev::AppService) {}
            }
        };
    }
}

/// `.route(web::<method>().to(<handler closure>))` for one route.
fn route_registration(route: &RouteMethod) -> TokenStream {
    let method_builder = format_ident!("{}", route.route.kind.http_method());
    let sig = &route.signature;
    let mut closure_args = Vec::new();
    let mut call_args = Vec::new();
    let mut takes_cleanup = false;
    for (i, param) in sig.params.iter().enumerate() {
        match param {
            Param::Extract(ty) => {
                let name = format_ident!("__arg{}", i);
                closure_args.push(quote!(#name: #ty));
                call_args.push(quote!(#name));
            }
            Param::Injected(Injected::CleanUp) => {
                takes_cleanup = true;
                call_args.push(quote!(__cleanup_arg));
            }
            Param::Injected(Injected::EventSink) => call_args.push(quote!(__event_sink)),
        }
    }
    let method = &route.method;
    let call = match sig.receiver {
        // A path, not method-call syntax: `__this.register()` would find
        // `HttpServiceFactory::register` (by value) before the user's
        // `register(&self)`, and `__this.clone()` would clone the `Arc`.
        // `Self::` looks at inherent methods first.
        Receiver::Ref => quote!(Self::#method(&*__this, #(#call_args),*)),
        Receiver::None => quote!(Self::#method(#(#call_args),*)),
    };
    let call = if sig.is_async {
        quote!(#call.await)
    } else {
        call
    };
    let this_clone = match sig.receiver {
        Receiver::Ref => quote!(let __this = __sse::std::sync::Arc::clone(&__this);),
        Receiver::None => quote!(),
    };
    let body = if route.route.kind == Kind::Sse {
        // The request, which the response reads the connection from, and
        // (last, after the route's own extractors) the HTTP/2 receive half
        // it watches for a cancel.
        closure_args.push(quote!(__req: __sse::actix_web::HttpRequest));
        closure_args.push(quote!(_: __sse::H2ReceiveHalf));
        sse_body(route, &call, takes_cleanup)
    } else {
        quote!(#call)
    };
    quote! {
        .route(__sse::actix_web::web::#method_builder().to({
            #this_clone
            move |#(#closure_args),*| {
                #this_clone
                async move { #body }
            }
        }))
    }
}

/// The handler body of an `#[sse]` route: an `Sse` with the route's
/// options, which runs the method inside the runtime's driver (it owns the
/// controller, so the stream may borrow it) and streams its items.
fn sse_body(route: &RouteMethod, call: &TokenStream, takes_cleanup: bool) -> TokenStream {
    let options = builder_calls(&route.route.options);
    let cleanup_arg = if takes_cleanup {
        quote!(let __cleanup_arg = __sse::CleanUp::clone(&__cleanup);)
    } else {
        quote!()
    };
    let (run, sink_channel) = if route.signature.output.sends() {
        (
            sink_route(route, call),
            quote!(let (__event_sink, __events) = __sse::sink_channel(&__cleanup);),
        )
    } else {
        (stream_route(route, call), quote!())
    };
    quote! {
        let __cleanup = __sse::CleanUp::new();
        #cleanup_arg
        #sink_channel
        __sse::Sse::__route() #(#options)*
            .__decide(&__req, __cleanup, move |__sink: __sse::Sink| async move {
                #run
            })
            .await
    }
}

/// One `Sse` builder call per option the route sets; the rest keep the
/// runtime's defaults.
fn builder_calls(options: &SseOptions) -> Vec<TokenStream> {
    let mut calls = Vec::new();
    match options.keep_alive {
        Some(Some(every)) => {
            let every = duration(every);
            calls.push(quote!(.keep_alive(#every)));
        }
        Some(None) => calls.push(quote!(.no_keep_alive())),
        None => {}
    }
    if let Some(retry) = options.retry {
        let retry = duration(retry);
        calls.push(quote!(.retry(#retry)));
    }
    if let Some(limit) = options.max_duration {
        let limit = duration(limit);
        calls.push(quote!(.max_duration(#limit)));
    }
    if let Some(limit) = options.idle_timeout {
        let limit = duration(limit);
        calls.push(quote!(.idle_timeout(#limit)));
    }
    match options.write_timeout {
        Some(Some(limit)) => {
            let limit = duration(limit);
            calls.push(quote!(.write_timeout(#limit)));
        }
        Some(None) => calls.push(quote!(.no_write_timeout())),
        None => {}
    }
    if let Some(name) = &options.error_event {
        calls.push(quote!(.error_event(const { __sse::event_name(#name) })));
    }
    if options.reconnect_on_end {
        calls.push(quote!(.reconnect_on_end()));
    }
    calls
}

/// The driver of a method that returns a stream: refuse on `Err`, check the
/// stream and its items, stream them.
fn stream_route(route: &RouteMethod, call: &TokenStream) -> TokenStream {
    // Each check is spanned at the user's tokens it is about: the stream
    // type (not a stream), the error type of `Result<_, E>` (not a
    // `ResponseError`), the item type (not an event). Each mistake fails one
    // obligation only (see `__private::Probe`): rustc does not reliably merge
    // repeated errors.
    let spans = route.signature.spans;
    let reject = quote_spanned! {spans.error=>
        __sse::reject(__sink, error)
    };
    let stream = match route.signature.output {
        Output::Result => quote! {
            let __stream = match #call {
                __sse::std::result::Result::Ok(stream) => stream,
                __sse::std::result::Result::Err(error) => return #reject,
            };
        },
        _ => quote!(let __stream = #call;),
    };
    let expect_stream = quote_spanned! {spans.stream=>
        __sse::expect_stream(__stream)
    };
    let items = quote_spanned! {spans.item=>
        (&&&&__sse::Probe::of(&__stream)).__sse_stream(__sink, __stream).await
    };
    quote! {
        #stream
        let __stream = #expect_stream;
        #items
    }
}

/// The driver of a method that sends through an `EventSink`: the method's
/// future and what it sends, streamed as one. Items are checked where they
/// are sent (`EventSink::send` takes `impl IntoEvent`), the error type of
/// `Result<(), E>` at `E`.
fn sink_route(route: &RouteMethod, call: &TokenStream) -> TokenStream {
    let method = quote!(async move { #call });
    if route.signature.output == Output::SinkResult {
        quote_spanned! {route.signature.spans.error=>
            __sse::stream_sink_or_reject(__sink, #method, __events).await
        }
    } else {
        quote!(__sse::stream_sink(__sink, #method, __events).await)
    }
}

fn duration(d: Duration) -> TokenStream {
    let millis = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    quote!(__sse::std::time::Duration::from_millis(#millis))
}
