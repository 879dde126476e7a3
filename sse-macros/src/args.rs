//! What `#[controller]` and the route attributes share: their arguments
//! `("path", key = value, ..)`, the option tables that read them, and the
//! wording of their errors.

use proc_macro2::TokenStream;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitStr, Token};

use crate::ctx::Ctx;
use crate::path;

/// The comma-separated arguments of an attribute.
pub(crate) type Args = Punctuated<Expr, Token![,]>;

/// Parses `tokens` as attribute arguments; a syntax error goes to `ctx`.
pub(crate) fn parse(ctx: &Ctx, tokens: TokenStream) -> Option<Args> {
    syn::parse::Parser::parse2(Args::parse_terminated, tokens)
        .map_err(|err| ctx.push(err))
        .ok()
}

/// The string literal `expr` is, if it is one.
pub(crate) fn string(expr: &Expr) -> Option<&LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Some(lit),
        _ => None,
    }
}

/// `key = value` with a plain identifier as the key.
fn key_value(expr: &Expr) -> Option<(&syn::Ident, &Expr)> {
    let Expr::Assign(assign) = expr else {
        return None;
    };
    let Expr::Path(key) = &*assign.left else {
        return None;
    };
    Some((key.path.get_ident()?, &assign.right))
}

/// Reads a path argument: a string literal, checked as actix will read it.
/// `what` says whose path it is in messages ("route", "controller").
pub(crate) fn path_literal<'a>(
    ctx: &Ctx,
    attr: &str,
    what: &str,
    expr: &'a Expr,
) -> Option<&'a LitStr> {
    let Some(lit) = string(expr) else {
        let example = path::quoted(expr).unwrap_or_else(|| "\"path\"".to_owned());
        ctx.error(
            expr,
            format!("the {what} path must be a string literal: `#[{attr}({example})]`"),
        );
        return None;
    };
    if let Err(message) = path::validate(&lit.value()) {
        ctx.error(lit, message);
    }
    Some(lit)
}

/// Reads one option's value into the attribute's settings; the key comes
/// from the table, so that it is written once.
pub(crate) type Setter<T> = fn(ctx: &Ctx, target: &mut T, key: &'static str, value: &Expr);

/// One `key = value` option an attribute takes.
pub(crate) struct Opt<T: 'static> {
    pub(crate) key: &'static str,
    pub(crate) set: Setter<T>,
}

/// Reads the `key = value` options in `args` into `target` through
/// `table`, the one place their keys are named: the lookup and the lists in
/// the messages both come from it. Problems go to `ctx`; the rest is read.
pub(crate) fn apply_options<T>(
    ctx: &Ctx,
    attr: &str,
    table: &[Opt<T>],
    target: &mut T,
    args: impl IntoIterator<Item = Expr>,
) {
    let mut seen: Vec<&'static str> = Vec::new();
    for arg in args {
        let Some((key, value)) = key_value(&arg) else {
            ctx.error(&arg, not_an_option(attr, table));
            continue;
        };
        let Some(option) = table.iter().find(|option| key == option.key) else {
            ctx.error(key, unknown_option(attr, &key.to_string(), table));
            continue;
        };
        if seen.contains(&option.key) {
            ctx.error(key, format!("option `{key}` is given twice; keep one"));
            continue;
        }
        seen.push(option.key);
        (option.set)(ctx, target, option.key, value);
    }
}

// An empty table belongs to a route attribute other than `#[sse]`, hence
// the pointer to `#[sse]`.
fn unknown_option<T>(attr: &str, key: &str, table: &[Opt<T>]) -> String {
    if table.is_empty() {
        format!("unknown option `{key}` for `#[{attr}]`, which takes only a path (options are for `#[sse]` routes)")
    } else {
        format!(
            "unknown option `{key}` for `#[{attr}]`, expected one of: {}",
            keys(table)
        )
    }
}

fn not_an_option<T>(attr: &str, table: &[Opt<T>]) -> String {
    if table.is_empty() {
        format!("`#[{attr}]` takes only a path: `#[{attr}(\"path\")]`")
    } else {
        format!(
            "expected `option = value` after the path, where the option is one of: {}",
            keys(table)
        )
    }
}

/// "`keep_alive`, `retry`, ..".
fn keys<T>(table: &[Opt<T>]) -> String {
    table
        .iter()
        .map(|option| format!("`{}`", option.key))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_flag(_: &Ctx, flag: &mut bool, _: &'static str, _: &Expr) {
        *flag = true;
    }

    const TABLE: &[Opt<bool>] = &[Opt {
        key: "flag",
        set: set_flag,
    }];

    fn apply(tokens: TokenStream) -> (bool, String) {
        let ctx = Ctx::default();
        let args = parse(&ctx, tokens).expect("arguments parse");
        let mut flag = false;
        apply_options(&ctx, "attr", TABLE, &mut flag, args);
        (flag, ctx.into_compile_errors().to_string())
    }

    #[test]
    fn reads_a_known_option() {
        let (flag, errors) = apply(quote::quote!(flag = 1));
        assert!(flag);
        assert!(errors.is_empty(), "{errors}");
    }

    #[test]
    fn lists_the_table_for_an_unknown_option() {
        let (flag, errors) = apply(quote::quote!(flga = 1));
        assert!(!flag);
        assert!(
            errors.contains("unknown option `flga` for `#[attr]`, expected one of: `flag`"),
            "{errors}"
        );
    }

    #[test]
    fn refuses_an_option_given_twice() {
        let (_, errors) = apply(quote::quote!(flag = 1, flag = 2));
        assert!(
            errors.contains("option `flag` is given twice; keep one"),
            "{errors}"
        );
    }

    #[test]
    fn refuses_a_bare_value() {
        let (_, errors) = apply(quote::quote!(5));
        assert!(
            errors.contains(
                "expected `option = value` after the path, where the option is one of: `flag`"
            ),
            "{errors}"
        );
    }
}
