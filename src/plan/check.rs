//! Meaning checks of a scenario that passed the schema: each error at the line and column of
//! the value at fault, every error of the file at once.

use super::curve::{self, MAX_CHAOS_LEVELS};
use crate::scenario::model::{BUILTIN_FORMATS, Body, Load, Report, Target, Workload};
use crate::scenario::{Diagnostic, Source, all_of, did_you_mean};
use crate::units::{self, Duration};
use crate::workload::data;

/// "no WHAT is named NAME", with the closest known name or the list of them.
pub(super) fn unknown_message<'n>(
    what: &str,
    name: &str,
    known: impl IntoIterator<Item = &'n str>,
) -> String {
    let known: Vec<&str> = known.into_iter().collect();
    let mut msg = format!("no {what} is named \"{name}\"");
    if let Some(s) = did_you_mean(name, known.iter().copied()) {
        msg.push_str(&format!("; did you mean \"{s}\"?"));
    } else if !known.is_empty() {
        msg.push_str(&format!("; the {what}s are {}", all_of(&known)));
    }
    msg
}

/// Collects meaning errors, each at the line and column of the value at fault.
pub(super) struct Compiler<'a> {
    pub(super) src: &'a Source,
    pub(super) diags: Vec<Diagnostic>,
}

impl Compiler<'_> {
    pub(super) fn err(&mut self, pointer: &str, message: String) {
        self.diags.push(self.src.error_at(pointer, message));
    }

    pub(super) fn line_of(&self, pointer: &str) -> usize {
        self.src.line_col(self.src.value_span(pointer).start).0
    }

    pub(super) fn unknown_name<'n>(
        &mut self,
        pointer: &str,
        what: &str,
        name: &str,
        known: impl IntoIterator<Item = &'n str>,
    ) {
        let msg = unknown_message(what, name, known);
        self.err(pointer, msg);
    }

    /// An error about part of a string value: points inside the string when the file holds it
    /// verbatim (no escapes), at the whole value otherwise.
    pub(super) fn err_in_string(
        &mut self,
        pointer: &str,
        value: &str,
        start: usize,
        end: usize,
        message: String,
    ) {
        let span = self.src.value_span(pointer);
        let raw = self.src.raw(pointer).unwrap_or_default();
        let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default();
        let span = if inner == value && raw.len() >= 2 {
            span.start + 1 + start..span.start + 1 + end.max(start + 1)
        } else {
            span
        };
        self.diags.push(self.src.error(span, message));
    }

    pub(super) fn check_load(&mut self, load: &Load, duration: Duration, at: &str) {
        match *load {
            Load::Burst { every, hold, .. } => {
                if every.is_zero() {
                    self.err(
                        &format!("{at}/every"),
                        "every must be longer than 0s".to_string(),
                    );
                } else if hold > every {
                    self.err(&format!("{at}/hold"), format!("hold {hold} is longer than every {every}; a burst must fit in its period"));
                }
            }
            Load::Wave { period, .. } if period.is_zero() => {
                self.err(
                    &format!("{at}/period"),
                    "period must be longer than 0s".to_string(),
                );
            }
            Load::Chaos { min, max, every } => {
                if min.0 > max.0 {
                    self.err(
                        &format!("{at}/min"),
                        format!(
                            "min {} is above max {}",
                            units::number(min.0),
                            units::number(max.0)
                        ),
                    );
                }
                if every.is_zero() {
                    self.err(
                        &format!("{at}/every"),
                        "every must be longer than 0s".to_string(),
                    );
                } else if curve::chaos_levels(duration.as_secs_f64(), every.as_secs_f64())
                    > MAX_CHAOS_LEVELS
                {
                    self.err(&format!("{at}/every"), format!(
                        "a new level every {every} over {duration} is more than {MAX_CHAOS_LEVELS} levels; choose a longer every"
                    ));
                }
            }
            _ => {}
        }
    }

    pub(super) fn check_target(&mut self, target: &Target, base_dir: &std::path::Path) {
        match target {
            Target::Simulated {
                components,
                timeout,
                ..
            } => {
                if timeout.is_some_and(Duration::is_zero) {
                    self.err(
                        "/target/timeout",
                        "timeout must be longer than 0s".to_string(),
                    );
                }
                for (name, tuning) in components.entries() {
                    let Some(tuning) = tuning else { continue };
                    let at = format!("/target/components/{name}");
                    if let Some(st) = tuning.service_time {
                        if st.median.is_zero() {
                            self.err(
                                &format!("{at}/service_time/median"),
                                "the median service time must be longer than 0s".to_string(),
                            );
                        }
                        if st.p99 < st.median {
                            self.err(
                                &format!("{at}/service_time/p99"),
                                format!("p99 {} is below the median {}", st.p99, st.median),
                            );
                        }
                    }
                    if tuning.timeout.is_some_and(Duration::is_zero) {
                        self.err(
                            &format!("{at}/timeout"),
                            "timeout must be longer than 0s".to_string(),
                        );
                    }
                }
            }
            Target::Http {
                url,
                headers,
                body,
                timeout,
                decision,
                tls,
                expect,
                requests,
                ..
            } => {
                let mut seen: Vec<&str> = Vec::new();
                for (i, r) in requests.iter().enumerate() {
                    let at = format!("/target/request/{i}");
                    if seen.contains(&r.name.0.as_str()) {
                        self.err(
                            &format!("{at}/name"),
                            format!("request \"{}\" is named twice", r.name),
                        );
                    }
                    seen.push(&r.name.0);
                    if r.path.is_some() && r.url.is_some() {
                        self.err(
                            &format!("{at}/url"),
                            "give a request either path (joined to the target's url) or its own url, not both".to_string(),
                        );
                    }
                    if let Some(u) = &r.url
                        && let Err(msg) = env_references(u)
                    {
                        self.err(&format!("{at}/url"), msg);
                    }
                    for (name, value) in &r.headers {
                        if let Err(msg) = env_references(value) {
                            let ptr =
                                format!("{at}/headers/{}", crate::scenario::source::escape(name));
                            self.err(&ptr, msg);
                        }
                    }
                    if let Some(Body::Template(path)) = &r.body
                        && !base_dir.join(path).is_file()
                    {
                        self.err(
                            &format!("{at}/body/template"),
                            format!(
                                "template \"{path}\" not found (looked for {})",
                                base_dir.join(path).display()
                            ),
                        );
                    }
                }
                if !requests.is_empty() && requests.iter().all(|r| r.weight <= 0.0) {
                    self.err(
                        "/target/request",
                        "every request has weight 0: give at least one a weight above 0"
                            .to_string(),
                    );
                }
                if let Some(expect) = expect {
                    for pointer in expect.json.keys() {
                        if !pointer.is_empty() && !pointer.starts_with('/') {
                            self.err(
                                &format!(
                                    "/target/expect/json/{}",
                                    crate::scenario::source::escape(pointer)
                                ),
                                format!(
                                    "\"{pointer}\" is not a JSON pointer; write it from the root, e.g. \"/{pointer}\""
                                ),
                            );
                        }
                    }
                }
                if let Some(tls) = tls {
                    if url.starts_with("http://") {
                        self.err(
                            "/target/tls",
                            "[target.tls] is for https:// URLs; this one is http://".to_string(),
                        );
                    }
                    if tls.cert.is_some() != tls.key.is_some() {
                        let at = if tls.cert.is_some() { "cert" } else { "key" };
                        self.err(
                            &format!("/target/tls/{at}"),
                            "cert and key go together: mutual TLS needs both".to_string(),
                        );
                    }
                    for (name, path) in [("ca", &tls.ca), ("cert", &tls.cert), ("key", &tls.key)] {
                        let Some(path) = path else { continue };
                        // A path from the environment is checked when the run starts.
                        if path.contains("${") {
                            if let Err(msg) = env_references(path) {
                                self.err(&format!("/target/tls/{name}"), msg);
                            }
                            continue;
                        }
                        let full = base_dir.join(path);
                        if !full.is_file() {
                            self.err(
                                &format!("/target/tls/{name}"),
                                format!(
                                    "{name} \"{path}\" not found (looked for {})",
                                    full.display()
                                ),
                            );
                        }
                    }
                }
                if timeout.is_some_and(Duration::is_zero) {
                    self.err(
                        "/target/timeout",
                        "timeout must be longer than 0s".to_string(),
                    );
                }
                if let Err(msg) = env_references(url) {
                    self.err("/target/url", msg);
                }
                for (name, value) in headers {
                    if let Err(msg) = env_references(value) {
                        let ptr =
                            format!("/target/headers/{}", crate::scenario::source::escape(name));
                        self.err(&ptr, msg);
                    }
                }
                if let Some(Body::Template(path)) = body {
                    let full = base_dir.join(path);
                    if !full.is_file() {
                        self.err(
                            "/target/body/template",
                            format!(
                                "template \"{path}\" not found (looked for {})",
                                full.display()
                            ),
                        );
                    }
                }
                if let Some(d) = decision
                    && d.block.is_empty()
                    && d.review.is_empty()
                {
                    self.err(
                        "/target/decision",
                        "decision needs block or review values, e.g. block = [\"block\"]"
                            .to_string(),
                    );
                }
            }
        }
    }

    pub(super) fn check_workload(&mut self, w: &Workload) {
        // Edge cases are never fraud, so the two shares must fit in the whole. A defaulted
        // edge_case_rate gives way to a fraud_rate near 1 instead (docs/workload.md).
        let (fraud, edge) = (w.fraud_rate.0, w.edge_case_rate.0);
        if self.src.raw("/workload/edge_case_rate").is_some() && fraud + edge > 1.0 + 1e-12 {
            let given = if self.src.raw("/workload/fraud_rate").is_some() {
                format!("fraud_rate {fraud}")
            } else {
                format!("the default fraud_rate {fraud}")
            };
            self.err(
                "/workload/edge_case_rate",
                format!(
                    "edge_case_rate {edge} and {given} add up to more than 1; edge cases are \
                     never fraud, so both shares cannot be met: lower one of them"
                ),
            );
        }
        if let Some(table) = &w.countries {
            for code in table.keys() {
                if data::country(code).is_none() {
                    let known: Vec<&str> = data::COUNTRIES.iter().map(|c| c.code).collect();
                    let mut msg = format!("gauntlet has no data for country \"{code}\"");
                    let hint = if code == "UK" {
                        Some("GB")
                    } else {
                        did_you_mean(code, known.iter().copied())
                    };
                    if let Some(s) = hint {
                        msg.push_str(&format!("; did you mean \"{s}\"?"));
                    }
                    msg.push_str(" (the countries are listed in docs/workload.md)");
                    self.diags.push(self.src.error(
                        self.src.key_span(&format!("/workload/countries/{code}")),
                        msg,
                    ));
                }
            }
            if table.values().all(|w| w.0 <= 0.0) {
                self.err(
                    "/workload/countries",
                    "country weights are all 0; give at least one a positive weight".to_string(),
                );
            }
        }
        if let Some(table) = &w.currencies {
            for code in table.keys() {
                if data::currency(code).is_none() {
                    let known: Vec<&str> = data::CURRENCIES.iter().map(|c| c.code).collect();
                    let mut msg = format!("gauntlet has no exchange rate for currency \"{code}\"");
                    if let Some(s) = did_you_mean(code, known.iter().copied()) {
                        msg.push_str(&format!("; did you mean \"{s}\"?"));
                    }
                    msg.push_str(" (the currencies are listed in docs/workload.md)");
                    self.diags.push(self.src.error(
                        self.src.key_span(&format!("/workload/currencies/{code}")),
                        msg,
                    ));
                }
            }
            if table.values().all(|w| w.0 <= 0.0) {
                self.err(
                    "/workload/currencies",
                    "currency weights are all 0; give at least one a positive weight".to_string(),
                );
            }
        }
    }

    pub(super) fn check_report(&mut self, r: &Report, base_dir: &std::path::Path) {
        let templates = r.templates.as_ref().map(|t| base_dir.join(t));
        if let (Some(dir), Some(name)) = (&templates, &r.templates)
            && !dir.is_dir()
        {
            self.err(
                "/report/templates",
                format!(
                    "template folder \"{name}\" not found (looked for {})",
                    dir.display()
                ),
            );
        }
        for (i, f) in r.formats.iter().enumerate() {
            if BUILTIN_FORMATS.contains(&f.0.as_str()) {
                continue;
            }
            let custom = templates
                .as_ref()
                .is_some_and(|dir| template_exists(dir, &f.0));
            if !custom {
                let mut msg = format!(
                    "unknown report format \"{f}\"; expected one of {}, or the name of a template in [report] templates",
                    BUILTIN_FORMATS.join(", ")
                );
                if f.0 == "json" {
                    msg.push_str(
                        " (results.json is always written: leave \"json\" out of formats)",
                    );
                } else if let Some(s) = did_you_mean(&f.0, BUILTIN_FORMATS) {
                    msg.push_str(&format!("; did you mean \"{s}\"?"));
                }
                self.err(&format!("/report/formats/{i}"), msg);
            }
        }
    }
}

/// Whether `dir` holds a template for format `name` (`NAME.*`, e.g. `slack.txt`).
fn template_exists(dir: &std::path::Path, name: &str) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|f| f.split_once('.').is_some_and(|(stem, _)| stem == name))
        })
    })
}

/// Whether `name` can name an environment variable: a letter or `_`, then letters, digits
/// and `_`.
pub fn is_env_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A `${NAME}` or `${NAME:-default}` in a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvRef<'a> {
    pub name: &'a str,
    pub default: Option<&'a str>,
    /// Where it is in the value, `${` to `}`.
    pub start: usize,
    pub end: usize,
}

/// The environment references in `value`: `${NAME}` (the variable must be set when the run
/// starts) or `${NAME:-default}` (the default stands in when it is not set or empty, as in a
/// shell). `validate` checks only this syntax, so CI can validate without secrets.
pub fn env_references(value: &str) -> Result<Vec<EnvRef<'_>>, String> {
    let mut refs = Vec::new();
    let mut from = 0;
    while let Some(i) = value[from..].find("${") {
        let start = from + i;
        let after = &value[start + 2..];
        let Some(close) = after.find('}') else {
            return Err(format!(
                "unterminated \"${{\" in \"{value}\"; write ${{NAME}} or ${{NAME:-default}}"
            ));
        };
        let inner = &after[..close];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        if !is_env_name(name) {
            return Err(format!(
                "\"${{{inner}}}\" is not an environment variable reference; write ${{NAME}} or ${{NAME:-default}} with letters, digits and _"
            ));
        }
        let end = start + 2 + close + 1;
        refs.push(EnvRef {
            name,
            default,
            start,
            end,
        });
        from = end;
    }
    Ok(refs)
}

/// `value` with its references expanded by `lookup` (a variable that is set but empty counts
/// as unset where a default is given); the name of the first one that has no value.
pub fn expand_refs(value: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let refs = env_references(value)?;
    let mut out = String::with_capacity(value.len());
    let mut at = 0;
    for r in refs {
        out.push_str(&value[at..r.start]);
        let v = match (lookup(r.name), r.default) {
            (Some(v), Some(d)) if v.is_empty() => d.to_string(),
            (Some(v), _) => v,
            (None, Some(d)) => d.to_string(),
            (None, None) => return Err(r.name.to_string()),
        };
        out.push_str(&v);
        at = r.end;
    }
    out.push_str(&value[at..]);
    Ok(out)
}
