//! One route attribute, `#[sse("path", option = value, ..)]` or
//! `#[get("path")]` and friends: parse and validate.

use std::time::Duration;

use proc_macro2::Span;
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, ExprLit, Lit, LitStr, Token};

use crate::ctx::Ctx;
use crate::{duration, path};

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
    pub(crate) const ALL: [(&'static str, Kind); 6] = [
        ("sse", Kind::Sse),
        ("get", Kind::Get),
        ("post", Kind::Post),
        ("put", Kind::Put),
        ("patch", Kind::Patch),
        ("delete", Kind::Delete),
    ];

    /// The route kind an attribute names, if it is a route attribute.
    pub(crate) fn of(attr: &Attribute) -> Option<Kind> {
        let name = attr.path().segments.last()?.ident.to_string();
        Kind::ALL
            .iter()
            .find(|(n, _)| *n == name)
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
}

/// Options of an `#[sse]` route.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SseOptions {
    /// `None`: off. Defaults to 15 s.
    pub(crate) keep_alive: Option<Duration>,
    pub(crate) retry: Option<Duration>,
    pub(crate) max_duration: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
}

impl Default for SseOptions {
    fn default() -> Self {
        SseOptions {
            keep_alive: Some(Duration::from_secs(15)),
            retry: None,
            max_duration: None,
            idle_timeout: None,
        }
    }
}

const SSE_OPTIONS: &[&str] = &["keep_alive", "retry", "max_duration", "idle_timeout"];

/// A parsed route attribute.
pub(crate) struct Route {
    pub(crate) kind: Kind,
    /// The path as written (validated), relative to the controller.
    pub(crate) path: String,
    pub(crate) path_span: Span,
    pub(crate) options: SseOptions,
}

/// Parses `attr` (known to be a route attribute of `kind`); problems go to
/// `ctx`, and a best-effort route comes back so later checks still run.
pub(crate) fn parse(ctx: &Ctx, kind: Kind, attr: &Attribute) -> Option<Route> {
    let name = kind.name();
    let args = match &attr.meta {
        syn::Meta::List(list) => {
            match list.parse_args_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
                Ok(args) => args,
                Err(err) => {
                    ctx.push(err);
                    return None;
                }
            }
        }
        _ => {
            ctx.error(
                attr,
                format!("`#[{name}]` needs a path: `#[{name}(\"path\")]`"),
            );
            return None;
        }
    };
    let mut args = args.into_iter();
    let path_lit = match args.next() {
        Some(Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        })) => lit,
        Some(other) => {
            let message = match (&other, path::quoted(&other)) {
                (Expr::Assign(_), _) => {
                    format!("`#[{name}]` needs the route path first: `#[{name}(\"path\", ..)]`")
                }
                (_, Some(path)) => {
                    format!("the route path must be a string literal: `#[{name}({path})]`")
                }
                (_, None) => {
                    format!("the route path must be a string literal: `#[{name}(\"path\")]`")
                }
            };
            ctx.error(&other, message);
            return None;
        }
        None => {
            ctx.error(
                attr,
                format!("`#[{name}]` needs a path: `#[{name}(\"path\")]`"),
            );
            return None;
        }
    };
    let path = path_lit.value();
    if let Err(message) = path::validate(&path) {
        ctx.error(&path_lit, message);
    }
    let mut options = SseOptions::default();
    let mut seen: Vec<String> = Vec::new();
    for arg in args {
        let option = option(&arg);
        if kind != Kind::Sse {
            let message = match option {
                Some((key, _)) => format!(
                    "unknown option `{key}`: `#[{name}]` takes only a path; options are for `#[sse]` routes"
                ),
                None => format!("`#[{name}]` takes only a path: `#[{name}(\"path\")]`"),
            };
            match option {
                Some((key, _)) => ctx.error(key, message),
                None => ctx.error(&arg, message),
            }
            continue;
        }
        let Some((key, value)) = option else {
            ctx.error(
                &arg,
                format!(
                    "expected `option = value` after the path; the options are {}",
                    options_list()
                ),
            );
            continue;
        };
        let key_name = key.to_string();
        if seen.contains(&key_name) {
            ctx.error(key, format!("option `{key_name}` is given twice; keep one"));
            continue;
        }
        seen.push(key_name.clone());
        match key_name.as_str() {
            "keep_alive" => match value {
                Expr::Lit(ExprLit {
                    lit: Lit::Bool(b), ..
                }) if !b.value => {
                    options.keep_alive = None;
                }
                Expr::Lit(ExprLit {
                    lit: Lit::Bool(b), ..
                }) => {
                    ctx.error(b, "`keep_alive = true` is the default; give a duration such as `keep_alive = \"15s\"`, or `keep_alive = false` to turn it off");
                }
                other => {
                    if let Some(d) = duration_value(ctx, "keep_alive", other) {
                        if d.is_zero() {
                            ctx.error(other, "`keep_alive` must be longer than zero; use `keep_alive = false` to turn it off");
                        }
                        options.keep_alive = Some(d);
                    }
                }
            },
            "retry" => options.retry = duration_value(ctx, "retry", value),
            "max_duration" => options.max_duration = positive_duration(ctx, "max_duration", value),
            "idle_timeout" => options.idle_timeout = positive_duration(ctx, "idle_timeout", value),
            _ => ctx.error(
                key,
                format!(
                    "unknown option `{key_name}`, expected one of: {}",
                    options_list()
                ),
            ),
        }
    }
    Some(Route {
        kind,
        path,
        path_span: path_lit.span(),
        options,
    })
}

/// "`keep_alive`, `retry`, ..", for messages.
fn options_list() -> String {
    SSE_OPTIONS
        .iter()
        .map(|o| format!("`{o}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn option(arg: &Expr) -> Option<(&syn::Ident, &Expr)> {
    let Expr::Assign(assign) = arg else {
        return None;
    };
    let Expr::Path(key) = &*assign.left else {
        return None;
    };
    Some((key.path.get_ident()?, &assign.right))
}

fn positive_duration(ctx: &Ctx, key: &str, value: &Expr) -> Option<Duration> {
    let d = duration_value(ctx, key, value)?;
    if d.is_zero() {
        ctx.error(value, format!("`{key}` must be longer than zero"));
    }
    Some(d)
}

fn duration_value(ctx: &Ctx, key: &str, value: &Expr) -> Option<Duration> {
    let lit: &LitStr = match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => lit,
        Expr::Lit(ExprLit {
            lit: Lit::Int(n), ..
        }) => {
            let n_text = n.base10_digits();
            ctx.error(
                n,
                format!(
                    "`{key}` takes a duration string with a unit, such as `{key} = \"{n_text}s\"`"
                ),
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
    match duration::parse(&lit.value()) {
        Ok(d) => Some(d),
        Err(message) => {
            ctx.error(lit, format!("`{key}`: {message}"));
            None
        }
    }
}
