//! Route paths: validated at compile time, joined with the controller's.

use std::collections::HashSet;

/// Checks one path template as actix-web's `ResourceDef` will read it, so a
/// mistake is a compile error here instead of a panic at start-up.
pub(crate) fn validate(path: &str) -> Result<(), String> {
    if path.contains("//") {
        return Err(format!(
            "invalid path \"{path}\": empty segment (`//`); write single slashes"
        ));
    }
    if let Some(c) = path
        .chars()
        .find(|c| matches!(c, '?' | '#') || c.is_whitespace())
    {
        return Err(format!(
            "invalid path \"{path}\": `{}` is not allowed in a route path",
            c.escape_debug()
        ));
    }
    let mut names = HashSet::new();
    let mut rest = path;
    while let Some(at) = rest.find(['{', '}']) {
        if rest.as_bytes()[at] == b'}' {
            return Err(format!(
                "invalid path \"{path}\": `}}` without a matching `{{`"
            ));
        }
        let inner = &rest[at + 1..];
        let close = closing_brace(inner)
            .ok_or_else(|| format!("invalid path \"{path}\": unclosed `{{`, add `}}`"))?;
        let placeholder = &inner[..close];
        let name = placeholder.split(':').next().unwrap_or_default();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "invalid path \"{path}\": placeholder `{{{placeholder}}}` needs a name made of letters, digits and `_`"
            ));
        }
        if !names.insert(name) {
            return Err(format!(
                "invalid path \"{path}\": placeholder `{name}` appears twice"
            ));
        }
        rest = &inner[close + 1..];
        if let Some(after) = rest.strip_prefix('*') {
            if !after.is_empty() {
                return Err(format!(
                    "invalid path \"{path}\": a tail placeholder `{{{name}}}*` must end the path"
                ));
            }
            rest = after;
        }
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
    use super::*;

    #[test]
    fn joins() {
        assert_eq!(join("events", "updates"), "/events/updates");
        assert_eq!(join("/events/", "/updates/"), "/events/updates");
        assert_eq!(join("", "x"), "/x");
        assert_eq!(join("", ""), "/");
        assert_eq!(join("e", ""), "/e");
    }

    #[test]
    fn validates() {
        assert!(validate("progress/{task_id}").is_ok());
        assert!(validate("{id:\\d{3}}").is_ok());
        assert!(validate("files/{tail}*").is_ok());
        assert!(validate("{id").is_err());
        assert!(validate("id}").is_err());
        assert!(validate("a//b").is_err());
        assert!(validate("{}").is_err());
        assert!(validate("{a}/{a}").is_err());
        assert!(validate("a b").is_err());
        assert!(validate("{t}*/x").is_err());
    }
}
