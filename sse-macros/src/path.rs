//! Route paths: validated at compile time, joined with the controller's.

use std::collections::HashSet;

/// actix-web's limit on placeholders in one path.
const MAX_PLACEHOLDERS: usize = 16;

/// Checks one path template as actix-web's `ResourceDef` will read it, so a
/// mistake is a compile error here instead of a panic at start-up. It is
/// stricter than actix where actix would take a path in a way nobody means
/// (an empty segment, a stray `}`); the pattern inside `{name:regex}` is
/// left to actix. The tests hold this against `actix_router` itself.
pub(crate) fn validate(path: &str) -> Result<(), String> {
    let invalid = |reason: String| Err(format!("invalid path \"{path}\": {reason}"));
    let mut names = HashSet::new();
    let mut rest = path;
    loop {
        let at = rest.find(['{', '}']);
        check_literal(&rest[..at.unwrap_or(rest.len())]).or_else(invalid)?;
        let Some(at) = at else {
            break;
        };
        if rest.as_bytes()[at] == b'}' {
            return invalid("`}` without a matching `{`".to_owned());
        }
        let inner = &rest[at + 1..];
        let Some(close) = closing_brace(inner) else {
            return invalid("unclosed `{`, add `}`".to_owned());
        };
        let placeholder = &inner[..close];
        let (name, pattern) = match placeholder.split_once(':') {
            Some((name, pattern)) => (name, Some(pattern)),
            None => (placeholder, None),
        };
        check_name(placeholder, name).or_else(invalid)?;
        if !names.insert(name) {
            return invalid(format!("placeholder `{name}` appears twice"));
        }
        rest = &inner[close + 1..];
        if let Some(after) = rest.strip_prefix('*') {
            if !after.is_empty() {
                return invalid(format!(
                    "a tail placeholder `{{{name}}}*` must end the path"
                ));
            }
            if pattern.is_some() {
                return invalid(format!(
                    "a tail placeholder takes no pattern, it matches the rest of the path; write `{{{name}}}*`"
                ));
            }
            rest = after;
        }
    }
    if rest.ends_with('*') {
        return invalid("a tail `*` needs a name, such as `{tail}*`".to_owned());
    }
    if names.len() > MAX_PLACEHOLDERS {
        return invalid(format!(
            "{} placeholders, but actix-web allows at most {MAX_PLACEHOLDERS} in one path",
            names.len()
        ));
    }
    Ok(())
}

/// The text between placeholders, matched as it is written.
fn check_literal(literal: &str) -> Result<(), String> {
    if literal.contains("//") {
        return Err("empty segment (`//`); write single slashes".to_owned());
    }
    match literal
        .chars()
        .find(|c| matches!(c, '?' | '#') || c.is_whitespace())
    {
        Some(c) => Err(format!(
            "`{}` is not allowed in a route path",
            c.escape_debug()
        )),
        None => Ok(()),
    }
}

/// actix turns a name into a regex group name: a letter or `_` first.
fn check_name(placeholder: &str, name: &str) -> Result<(), String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "placeholder `{{{placeholder}}}` needs a name made of letters, digits and `_`"
        ));
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!(
            "placeholder `{{{placeholder}}}` needs a name that starts with a letter or `_`"
        ));
    }
    Ok(())
}

/// How a path that is not a string literal was probably meant: `events` →
/// `"events"`, `42` → `"42"`, `events/live` → `"events/live"`.
pub(crate) fn quoted(expr: &syn::Expr) -> Option<String> {
    let plausible = match expr {
        syn::Expr::Path(p) => p.qself.is_none(),
        syn::Expr::Lit(_) => true,
        syn::Expr::Binary(b) => matches!(b.op, syn::BinOp::Div(_)),
        _ => false,
    };
    let text: String = quote::quote!(#expr)
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    plausible.then(|| format!("{:?}", text.trim_matches('"')))
}

/// The index of the `}` closing a placeholder, allowing `{n}` quantifiers
/// inside a `{name:regex}` pattern.
fn closing_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// `"/events/"` + `"updates"` → `"/events/updates"`; `""` + `""` → `"/"`.
pub(crate) fn join(prefix: &str, path: &str) -> String {
    let mut out = String::new();
    for part in [prefix, path] {
        let part = part.trim_matches('/');
        if !part.is_empty() {
            out.push('/');
            out.push_str(part);
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::panic;

    use actix_router::ResourceDef;
    use proptest::prelude::*;

    use super::*;

    /// Whether actix-web would build a route for `path`: `ResourceDef`
    /// panics on a pattern it can't read.
    fn actix_accepts(path: &str) -> bool {
        let full = join("", path);
        panic::catch_unwind(|| ResourceDef::new(full)).is_ok()
    }

    /// Both accept.
    const ACCEPTED: &[&str] = &[
        "",
        "/",
        "events",
        "/events/",
        "events/live.json",
        "a-b_c~d",
        "a*b",
        "progress/{task_id}",
        "users/{id}/posts/{post_id}",
        "{a}{b}",
        "{_hidden}",
        "{id:\\d+}",
        "{id:\\d{3}}",
        "x/{name:[a-z]{2,4}}/y",
        "files/{tail}*",
        "{a}/files/{tail}*",
        "{p1}/{p2}/{p3}/{p4}/{p5}/{p6}/{p7}/{p8}/{p9}/{p10}/{p11}/{p12}/{p13}/{p14}/{p15}/{p16}",
    ];

    /// Both refuse: actix panics when the route is built.
    const REFUSED: &[&str] = &[
        "{id",
        "events/{",
        "{id:\\d{3}",
        "{}",
        "{:\\d+}",
        "{a}/{a}",
        "{1a}",
        "{a-b}",
        "{tail:.*}*",
        "{p1}/{p2}/{p3}/{p4}/{p5}/{p6}/{p7}/{p8}/{p9}/{p10}/{p11}/{p12}/{p13}/{p14}/{p15}/{p16}/{p17}",
    ];

    /// Refused here though actix builds a route, which would not be the
    /// route meant.
    const STRICTER: &[(&str, &str)] = &[
        ("a//b", "an empty segment"),
        ("a b", "a space, which a request path can't hold"),
        ("a?b", "a query, never part of the matched path"),
        ("a#b", "a fragment, never sent"),
        ("id}", "a stray `}`, matched literally"),
        (
            "{t}*/x",
            "a `*` after a placeholder that is then matched literally",
        ),
        ("files/*", "an unnamed tail, which matches nothing"),
        (
            "{a.b}",
            "a `.` in a name, which a `web::Path` struct field matches only when renamed",
        ),
    ];

    /// Accepted here, refused by actix: the regex in `{name:regex}` is
    /// actix's to check (its engine depends on its features).
    const LEFT_TO_ACTIX: &[&str] = &["{id:(}", "{id:[a-}", "{a:(?P<a>x)}"];

    /// Regexes with characters refused outside a placeholder.
    const REGEXES: &[&str] = &["{id:\\d+?}", "{v:v?\\d}", "{a:[#]}"];

    #[test]
    fn agrees_with_actix_router() {
        for path in ACCEPTED {
            assert_eq!(validate(path), Ok(()), "{path:?}");
            assert!(actix_accepts(path), "actix refuses {path:?}");
        }
        for path in REFUSED {
            assert!(validate(path).is_err(), "{path:?} is accepted");
            assert!(!actix_accepts(path), "actix accepts {path:?}");
        }
        for (path, why) in STRICTER {
            assert!(validate(path).is_err(), "{path:?} ({why}) is accepted");
            assert!(
                actix_accepts(path),
                "actix refuses {path:?}: move it to REFUSED"
            );
        }
        for path in REGEXES {
            assert_eq!(validate(path), Ok(()), "{path:?}");
            assert!(actix_accepts(path), "actix refuses {path:?}");
        }
        for path in LEFT_TO_ACTIX {
            assert_eq!(validate(path), Ok(()), "{path:?}");
            assert!(!actix_accepts(path), "actix accepts {path:?}");
        }
    }

    /// Pieces of paths, whole placeholders among them so that names and
    /// tails come up often.
    const PIECES: &[&str] = &[
        "a", "1", "_", ".", "-", "/", "*", "{", "}", "{a}", "{b}", "{1}", "{_}", "{a.b}", "{}",
        "{t}*", "{a:b}", "{c:d}*",
    ];

    fn paths() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(PIECES), 0..8).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        /// Whatever is accepted here, actix builds a route for.
        #[test]
        fn actix_accepts_what_is_accepted(path in paths()) {
            if validate(&path).is_ok() {
                prop_assert!(actix_accepts(&path), "actix refuses {:?}", path);
            }
        }
    }

    #[test]
    fn checks_the_joined_path() {
        assert!(validate("users/{id}").is_ok());
        assert!(validate("{id}").is_ok());
        assert!(validate(&join("users/{id}", "{id}")).is_err());
        assert!(validate(&join("files/{tail}*", "x")).is_err());
    }

    #[test]
    fn joins() {
        assert_eq!(join("events", "updates"), "/events/updates");
        assert_eq!(join("/events/", "/updates/"), "/events/updates");
        assert_eq!(join("", "x"), "/x");
        assert_eq!(join("", ""), "/");
        assert_eq!(join("e", ""), "/e");
    }
}
