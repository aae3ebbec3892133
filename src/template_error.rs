//! Template errors (report templates, http body templates) in a person's words: the file, line
//! and column, what is wrong, the expression at fault, and for a name that is not there, the
//! names that are.

use std::fmt::Write as _;

/// At most this many names are listed after "it has".
const LISTED: usize = 40;

/// `PATH:LINE:COL: what is wrong: \`EXPR\``, with `source` the template's text (for the
/// column and the expression) and `context` what it was rendered with (for the names there
/// are; `Null` when it was only compiled).
pub fn explain(
    e: &minijinja::Error,
    path: &str,
    source: Option<&str>,
    context: &serde_json::Value,
) -> String {
    let mut out = path.to_string();
    let range = e
        .range()
        .zip(source)
        .filter(|(r, s)| r.start <= r.end && r.end <= s.len())
        .filter(|(r, s)| s.is_char_boundary(r.start) && s.is_char_boundary(r.end));
    match (e.line(), range.clone()) {
        (Some(line), Some((r, s))) => {
            let line_start = s[..r.start].rfind('\n').map_or(0, |i| i + 1);
            let column = s[line_start..r.start].chars().count() + 1;
            let _ = write!(out, ":{line}:{column}");
        }
        (Some(line), None) => {
            let _ = write!(out, ":{line}");
        }
        _ => {}
    }
    let undefined = e.kind() == minijinja::ErrorKind::UndefinedError;
    // A syntax error's range is the token it stumbled on: the message says it already.
    let expr = range
        .filter(|_| e.kind() != minijinja::ErrorKind::SyntaxError)
        .map(|(r, s)| {
            if undefined {
                undefined_expression(s, r)
            } else {
                s[r].trim()
            }
        })
        .filter(|x| !x.is_empty() && !x.contains('\n'));
    let kind = e.kind().to_string();
    let _ = write!(out, ": {kind}");
    // An undefined value's detail (debug builds of minijinja only) names the expression,
    // which is shown anyway.
    if let Some(detail) = e
        .detail()
        .filter(|d| *d != kind && !(undefined && expr.is_some()))
    {
        let _ = write!(out, ": {detail}");
    }
    if let Some(expr) = expr {
        let _ = write!(out, ": `{expr}`");
        if let Some(hint) = missing_name(expr, context).filter(|_| undefined) {
            let _ = write!(out, "; {hint}");
        }
    }
    out
}

/// The whole expression an undefined-value error is about. Its range may start inside a
/// dotted path (`.totals.ok` of `results.totals.ok`), or be the filter applied to the
/// undefined value (`upper` of `results.nope | upper`).
fn undefined_expression(s: &str, r: std::ops::Range<usize>) -> &str {
    let part = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
    let back = |end: usize| s[..end].trim_end_matches(part).len();
    let start = back(r.start);
    let before = s[..start].trim_end();
    if let Some(piped) = before.strip_suffix('|') {
        let end = piped.trim_end().len();
        return s[back(end)..end].trim();
    }
    s[start..r.end].trim()
}

/// For an expression whose dotted path leaves `context`: which part is missing and what the
/// last part that exists has.
fn missing_name(expr: &str, context: &serde_json::Value) -> Option<String> {
    let path: String = expr
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
        .collect();
    let mut here = context;
    let mut walked: Vec<&str> = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let names = match here {
            serde_json::Value::Object(map) => map,
            _ => return None,
        };
        match names.get(part) {
            Some(next) => {
                here = next;
                walked.push(part);
            }
            // A name the template set itself (a loop's variable, a macro): nothing to tell.
            None if walked.is_empty() => return None,
            None => {
                let mut keys: Vec<&str> = names.keys().map(String::as_str).collect();
                keys.sort_unstable();
                let more = keys.len().saturating_sub(LISTED);
                keys.truncate(LISTED);
                let list = keys.join(", ")
                    + &if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    };
                return Some(format!(
                    "{} has no \"{part}\"; it has: {list}",
                    walked.join(".")
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_error(source: &str, ctx: &serde_json::Value) -> String {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let e = match env.add_template("t", source) {
            Err(e) => e,
            Ok(()) => env
                .get_template("t")
                .unwrap()
                .render(minijinja::value::Serde(ctx))
                .expect_err("the template fails"),
        };
        explain(&e, "tpl/t.j2", Some(source), ctx)
    }

    #[test]
    fn a_missing_field_names_its_place_and_the_fields_there_are() {
        let ctx = serde_json::json!({ "tx": { "id": "t1", "amount_usd_cents": 1250 } });
        let msg = render_error(
            "{\"id\": \"{{ tx.id }}\",\n \"amt\": {{ tx.amount }}}",
            &ctx,
        );
        assert!(msg.starts_with("tpl/t.j2:2:12: undefined value"), "{msg}");
        assert!(msg.contains("`tx.amount`"), "{msg}");
        assert!(
            msg.ends_with("tx has no \"amount\"; it has: amount_usd_cents, id"),
            "{msg}"
        );
        // The range may start inside the path, or be a filter applied to the missing value.
        let ctx = serde_json::json!({ "results": { "verdict": { "passed": true } } });
        let msg = render_error("x {{ results.totals.ok }}", &ctx);
        assert!(msg.starts_with("tpl/t.j2:1:"), "{msg}");
        assert!(
            msg.contains("`results.totals.ok`; results has no \"totals\"; it has: verdict"),
            "{msg}"
        );
        let msg = render_error("{{ results.verdict.nope | upper }}", &ctx);
        assert!(
            msg.contains("`results.verdict.nope`; results.verdict has no \"nope\"; it has: passed"),
            "{msg}"
        );
        // A loop's own variable is not the context's: no list of names.
        let msg = render_error("{% for c in [1] %}{{ c.chek }}{% endfor %}", &ctx);
        assert!(
            msg.contains("undefined value") && !msg.contains("has no"),
            "{msg}"
        );
    }

    #[test]
    fn a_syntax_error_names_its_line() {
        let msg = render_error("ok\n{{ tx.id }\n", &serde_json::Value::Null);
        assert!(msg.starts_with("tpl/t.j2:2"), "{msg}");
        assert!(msg.starts_with("tpl/t.j2:2:10: syntax error"), "{msg}");
        assert!(!msg.ends_with("`}`"), "{msg}");
    }
}
