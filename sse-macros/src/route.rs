//! One route attribute, `#[sse("path", option = value, ..)]` or
//! `#[get("path")]` and friends: parse and validate.

use std::time::Duration;

use proc_macro2::Span;
use syn::{Attribute, Expr, ExprLit, Lit};

use crate::args::{self, Opt};
use crate::ctx::Ctx;
use crate::duration;

/// The kinds of route a controller method can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sse,
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Kind {
    const ALL: [(&'static str, Kind); 6] = [
        ("sse", Kind::Sse),
        ("get", Kind::Get),
        ("post", Kind::Post),
        ("put", Kind::Put),
        ("patch", Kind::Patch),
        ("delete", Kind::Delete),
    ];

    /// The route kind an attribute names, if it is a route attribute.
    pub(crate) fn of(attr: &Attribute) -> Option<Kind> {
        let name = &attr.path().segments.last()?.ident;
        Kind::ALL
            .iter()
            .find(|(n, _)| name == *n)
            .map(|(_, kind)| *kind)
    }

    pub(crate) fn name(self) -> &'static str {
        Kind::ALL
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("sse", |(n, _)| n)
    }

    /// The HTTP method, as the name of an `actix_web::web` route builder.
    pub(crate) fn http_method(self) -> &'static str {
        match self {
            Kind::Sse | Kind::Get => "get",
            other => other.name(),
        }
    }

    /// The options this kind of route takes.
    fn options(self) -> &'static [Opt<SseOptions>] {
        match self {
            Kind::Sse => SSE_OPTIONS,
            _ => &[],
        }
    }
}

/// Options of an `#[sse]` route, as written: `None` is an option left out,
/// which keeps the runtime's default (`Sse`'s builder states them all,
/// once).
#[derive(Debug, Clone, Default)]
pub(crate) struct SseOptions {
    /// `Some(None)`: off.
    pub(crate) keep_alive: Option<Option<Duration>>,
    pub(crate) retry: Option<Duration>,
    pub(crate) max_duration: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    /// `Some(None)`: off.
    pub(crate) write_timeout: Option<Option<Duration>>,
    /// The name of the final error event, checked to be one line.
    pub(crate) error_event: Option<syn::LitStr>,
    /// `true`: a stream that ran out may be replayed by the browser.
    pub(crate) reconnect_on_end: bool,
}

/// Every option of `#[sse]`, the only place their keys are written.
const SSE_OPTIONS: &[Opt<SseOptions>] = &[
    Opt {
        key: "keep_alive",
        set: set_keep_alive,
    },
    Opt {
        key: "retry",
        set: set_retry,
    },
    Opt {
        key: "max_duration",
        set: set_max_duration,
    },
    Opt {
        key: "idle_timeout",
        set: set_idle_timeout,
    },
    Opt {
        key: "write_timeout",
        set: set_write_timeout,
    },
    Opt {
        key: "error_event",
        set: set_error_event,
    },
    Opt {
        key: "reconnect_on_end",
        set: set_reconnect_on_end,
    },
];

/// A parsed route attribute.
pub(crate) struct Route {
    pub(crate) kind: Kind,
    /// The path as written (validated), relative to the controller.
    pub(crate) path: String,
    pub(crate) path_span: Span,
    pub(crate) options: SseOptions,
}

/// Parses `attr` (known to be a route attribute of `kind`); problems go to
/// `ctx`. A route comes back whenever its path could be read, so that
/// later checks (duplicates) still run.
pub(crate) fn parse(ctx: &Ctx, kind: Kind, attr: &Attribute) -> Option<Route> {
    let name = kind.name();
    let needs_path = || format!("`#[{name}]` needs a path: `#[{name}(\"path\")]`");
    let syn::Meta::List(list) = &attr.meta else {
        ctx.error(attr, needs_path());
        return None;
    };
    let mut args = args::parse(ctx, list.tokens.clone())?.into_iter();
    let path = match args.next() {
        None => {
            ctx.error(attr, needs_path());
            return None;
        }
        Some(first @ Expr::Assign(_)) => {
            ctx.error(
                first,
                format!("`#[{name}]` needs the route path first: `#[{name}(\"path\", ..)]`"),
            );
            return None;
        }
        Some(first) => args::path_literal(ctx, name, "route", &first)?.clone(),
    };
    let mut options = SseOptions::default();
    args::apply_options(ctx, name, kind.options(), &mut options, args);
    Some(Route {
        kind,
        path: path.value(),
        path_span: path.span(),
        options,
    })
}

fn set_keep_alive(ctx: &Ctx, options: &mut SseOptions, key: &'static str, value: &Expr) {
    let on = format!("`{key} = true` is the default; give a duration such as `{key} = \"15s\"`, or `{key} = false` to turn it off");
    options.keep_alive = duration_or_off(ctx, key, value, &on);
}

/// A single-line, non-empty event name: what `event:` can carry.
fn set_error_event(ctx: &Ctx, options: &mut SseOptions, key: &'static str, value: &Expr) {
    let Expr::Lit(ExprLit {
        lit: Lit::Str(name),
        ..
    }) = value
    else {
        ctx.error(
            value,
            format!("`{key}` takes an event name such as `{key} = \"failed\"`"),
        );
        return;
    };
    let text = name.value();
    if text.is_empty() || text.contains(['\r', '\n']) {
        ctx.error(
            name,
            format!("`{key}` must be one line of text, not empty: it is sent as an `event:` field"),
        );
        return;
    }
    options.error_event = Some(name.clone());
}

fn set_reconnect_on_end(ctx: &Ctx, options: &mut SseOptions, key: &'static str, value: &Expr) {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => options.reconnect_on_end = b.value,
        other => ctx.error(
            other,
            format!(
                "`{key}` takes `true` (a finished stream may be replayed) or `false` (the default)"
            ),
        ),
    }
}

/// Overrides the server-wide write timeout (`SseSettings::write_timeout`).
fn set_write_timeout(ctx: &Ctx, options: &mut SseOptions, key: &'static str, value: &Expr) {
    let on = format!("give a duration such as `{key} = \"10s\"`, `{key} = false` to turn it off, or leave `{key}` out for the server's default");
    options.write_timeout = duration_or_off(ctx, key, value, &on);
}

/// `false` (`Some(None)`) or a positive duration; `None` after an error.
/// `on` is the error for `true`, which names no duration.
fn duration_or_off(
    ctx: &Ctx,
    key: &'static str,
    value: &Expr,
    on: &str,
) -> Option<Option<Duration>> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) if !b.value => Some(None),
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => {
            ctx.error(b, on);
            None
        }
        _ => positive_duration(
            ctx,
            key,
            value,
            &format!("use `{key} = false` to turn it off"),
        )
        .map(Some),
    }
}

/// Zero is allowed: it asks browsers to reconnect at once.
fn set_retry(ctx: &Ctx, options: &mut SseOptions, key: &'static str, value: &Expr) {
    options.retry = duration_value(ctx, key, value);
}

fn set_max_duration(ctx: &Ctx, options: &mut SseOptions, key: &'static str, value: &Expr) {
    options.max_duration = positive_duration(
        ctx,
        key,
        value,
        &format!("remove `{key}` to let streams run until they end"),
    );
}

fn set_idle_timeout(ctx: &Ctx, options: &mut SseOptions, key: &'static str, value: &Expr) {
    options.idle_timeout = positive_duration(
        ctx,
        key,
        value,
        &format!("remove `{key}` to keep quiet streams open"),
    );
}

/// A duration that must not be zero; `fix` says what to write instead.
fn positive_duration(ctx: &Ctx, key: &str, value: &Expr, fix: &str) -> Option<Duration> {
    let d = duration_value(ctx, key, value)?;
    if d.is_zero() {
        ctx.error(value, format!("`{key}` must be longer than zero; {fix}"));
        return None;
    }
    Some(d)
}

fn duration_value(ctx: &Ctx, key: &str, value: &Expr) -> Option<Duration> {
    let lit = match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => lit,
        Expr::Lit(ExprLit {
            lit: Lit::Int(n), ..
        }) => {
            let n = n.base10_digits();
            ctx.error(
                value,
                format!("`{key}` takes a duration string with a unit, such as `{key} = \"{n}s\"`"),
            );
            return None;
        }
        other => {
            ctx.error(
                other,
                format!("`{key}` takes a duration string such as `{key} = \"15s\"`"),
            );
            return None;
        }
    };
    let text = lit.value();
    duration::parse(&text)
        .map_err(|reason| {
            ctx.error(
                lit,
                format!("invalid duration \"{text}\" for `{key}`: {reason}"),
            );
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_attr(attr: Attribute) -> (Option<Route>, String) {
        let ctx = Ctx::default();
        let kind = Kind::of(&attr).expect("a route attribute");
        let route = parse(&ctx, kind, &attr);
        (route, ctx.into_compile_errors().to_string())
    }

    #[test]
    fn reads_every_option() {
        let (route, errors) = parse_attr(syn::parse_quote!(#[sse(
            "live", keep_alive = false, retry = "0s", max_duration = "1h", idle_timeout = "5m",
            write_timeout = "10s", error_event = "failed", reconnect_on_end = true
        )]));
        assert!(errors.is_empty(), "{errors}");
        let route = route.expect("a route");
        assert_eq!(route.path, "live");
        assert_eq!(route.options.keep_alive, Some(None));
        assert_eq!(route.options.retry, Some(Duration::ZERO));
        assert_eq!(
            route.options.error_event.as_ref().map(syn::LitStr::value),
            Some("failed".to_owned())
        );
        assert!(route.options.reconnect_on_end);
        assert_eq!(route.options.max_duration, Some(Duration::from_secs(3600)));
        assert_eq!(route.options.idle_timeout, Some(Duration::from_secs(300)));
        assert_eq!(
            route.options.write_timeout,
            Some(Some(Duration::from_secs(10)))
        );
    }

    #[test]
    fn write_timeout_defaults_to_the_server_and_can_be_turned_off() {
        let (route, _) = parse_attr(syn::parse_quote!(#[sse("x")]));
        assert_eq!(route.expect("a route").options.write_timeout, None);
        let (route, errors) = parse_attr(syn::parse_quote!(#[sse("x", write_timeout = false)]));
        assert!(errors.is_empty(), "{errors}");
        assert_eq!(route.expect("a route").options.write_timeout, Some(None));
        let (_, errors) = parse_attr(syn::parse_quote!(#[sse("x", write_timeout = true)]));
        assert!(
            errors.contains("`write_timeout = false` to turn it off"),
            "{errors}"
        );
    }

    #[test]
    fn every_zero_duration_names_its_fix() {
        for key in [
            "keep_alive",
            "max_duration",
            "idle_timeout",
            "write_timeout",
        ] {
            let key_ident = syn::Ident::new(key, Span::call_site());
            let (_, errors) = parse_attr(syn::parse_quote!(#[sse("x", #key_ident = "0s")]));
            let expected = format!("`{key}` must be longer than zero; ");
            assert!(errors.contains(&expected), "{key}: {errors}");
            let fix = errors.split(&expected).nth(1).unwrap_or_default();
            assert!(
                fix.contains(&format!("`{key}")),
                "{key}: the fix should name the option: {errors}"
            );
        }
    }

    #[test]
    fn other_routes_take_no_options() {
        let (route, errors) = parse_attr(syn::parse_quote!(#[get("x", keep_alive = "1s")]));
        assert!(route.is_some());
        assert!(
            errors.contains("unknown option `keep_alive` for `#[get]`, which takes only a path"),
            "{errors}"
        );
    }

    #[test]
    fn an_error_event_name_is_one_line() {
        let (_, errors) = parse_attr(syn::parse_quote!(#[sse("x", error_event = "a\nb")]));
        assert!(
            errors.contains("`error_event` must be one line"),
            "{errors}"
        );
        let (_, errors) = parse_attr(syn::parse_quote!(#[sse("x", error_event = "")]));
        assert!(
            errors.contains("`error_event` must be one line"),
            "{errors}"
        );
        let (_, errors) = parse_attr(syn::parse_quote!(#[sse("x", reconnect_on_end = "yes")]));
        assert!(
            errors.contains("`reconnect_on_end` takes `true`"),
            "{errors}"
        );
    }

    #[test]
    fn duration_errors_say_which_option() {
        let (_, errors) = parse_attr(syn::parse_quote!(#[sse("x", retry = "soon")]));
        assert!(
            errors.contains("invalid duration \\\"soon\\\" for `retry`: expected a number"),
            "{errors}"
        );
    }
}
