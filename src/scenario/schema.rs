//! The JSON Schema of the scenario language, generated from the types in `model`, and the
//! translation of its validation errors into messages a person reads, each at the line and
//! column of the key or value at fault. The committed copy lives in `schemas/`; a test keeps it
//! equal to what this module generates.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use schemars::generate::SchemaSettings;
use serde_json::Value;

use super::diagnostic::Diagnostic;
use super::model::{NAME_PATTERN, OCCURRENCE_PATTERN, Scenario};
use super::source::{Source, segments};
use super::suggest::{did_you_mean, one_of};
use crate::units::DURATION_PATTERN;

/// The scenario JSON Schema (draft 2020-12).
pub fn scenario_schema() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator();
    let mut schema = generator.into_root_schema_for::<Scenario>().to_value();
    strip_null(&mut schema);
    adjust(&mut schema);
    if let Some(check) = schema.pointer_mut("/$defs/Criterion/properties/check")
        && let Some(map) = check.as_object_mut()
    {
        map.insert("pattern".into(), Value::String(check_pattern()));
    }
    schema
}

/// A pattern of `METRIC OP VALUE` with the known metrics, so an editor flags an unknown metric
/// while typing. gauntlet's own validation leaves it to the criterion parser, which says
/// exactly which part is wrong.
fn check_pattern() -> String {
    let mut names: Vec<String> = crate::scenario::check::Metric::all()
        .map(|m| m.name().replace('.', "\\."))
        .collect();
    names.push(r"probe\.[a-z0-9][a-z0-9-]*\.[A-Za-z_:][A-Za-z0-9_:-]*\.(min|max|mean|last)".into());
    let stats: Vec<String> = crate::scenario::check::ComponentStat::ALL
        .iter()
        .map(|s| s.name().replace('.', "\\."))
        .collect();
    names.push(format!(
        r"component\.[a-z0-9][a-z0-9-]*\.({})",
        stats.join("|")
    ));
    format!(
        r"^\s*({})\s*(<=|>=|==|!=|<|>)\s*[-+]?[0-9_]+(\.[0-9]+)?\s*(us|ms|s|m|h|%)?\s*$",
        names.join("|")
    )
}

/// TOML has no null: an optional key is simply left out, so `null` is never a valid value.
fn strip_null(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(any)) = map.get_mut("anyOf") {
                any.retain(|b| b.get("type").and_then(Value::as_str) != Some("null"));
                if any.len() == 1
                    && let Some(Value::Object(only)) = any.pop()
                {
                    map.remove("anyOf");
                    for (k, val) in only {
                        map.entry(k).or_insert(val);
                    }
                }
            }
            if map.get("default") == Some(&Value::Null) {
                map.remove("default");
            }
            map.values_mut().for_each(strip_null);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null),
        _ => {}
    }
}

/// What derive cannot say: `kind` may be left out of a simulated `[target]` (it is the
/// default), and `errors` / `packet-loss` failures require a `probability`.
fn adjust(schema: &mut Value) {
    let variants = |schema: &mut Value, def: &str| -> Vec<Value> {
        schema
            .pointer_mut(&format!("/$defs/{def}/oneOf"))
            .and_then(Value::as_array_mut)
            .map(std::mem::take)
            .unwrap_or_default()
    };
    let tag_of = |v: &Value, tag: &str| -> Option<String> {
        v.pointer(&format!("/properties/{tag}/const"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };

    let mut targets = variants(schema, "Target");
    for v in &mut targets {
        if tag_of(v, "kind").as_deref() == Some("simulated")
            && let Some(req) = v.get_mut("required").and_then(Value::as_array_mut)
        {
            req.retain(|r| r != "kind");
        }
    }
    if let Some(slot) = schema.pointer_mut("/$defs/Target/oneOf") {
        *slot = Value::Array(targets);
    }

    let mut failures = variants(schema, "Failure");
    for v in &mut failures {
        if matches!(tag_of(v, "kind").as_deref(), Some("errors" | "packet-loss"))
            && let Some(req) = v.get_mut("required").and_then(Value::as_array_mut)
        {
            req.push(Value::String("probability".into()));
        }
    }
    if let Some(slot) = schema.pointer_mut("/$defs/Failure/oneOf") {
        *slot = Value::Array(failures);
    }
}

fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::validator_for(&scenario_schema()).expect("the generated schema is valid")
    })
}

/// Validates a scenario (as JSON) against the schema; every error, located.
pub fn validate(source: &Source, json: &Value) -> Vec<Diagnostic> {
    validate_at(source, json)
        .into_iter()
        .map(|(_, d)| d)
        .collect()
}

/// The same, each error with the JSON pointer of the value at fault.
pub fn validate_at(source: &Source, json: &Value) -> Vec<(String, Diagnostic)> {
    let schema = scenario_schema_cached();
    let mut located = Vec::new();
    for error in validator().iter_errors(json) {
        let mut out = Vec::new();
        let pointer = error.instance_path().as_str();
        let is_check = pointer.starts_with("/criterion/") && pointer.ends_with("/check");
        if is_check && matches!(error.kind(), ValidationErrorKind::Pattern { .. }) {
            continue; // the criterion parser's message is the precise one
        }
        describe(&error, source, json, schema, &mut out);
        let at = error.instance_path().as_str().to_string();
        located.extend(out.into_iter().map(|d| (at.clone(), d)));
    }
    located
}

fn scenario_schema_cached() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(scenario_schema)
}

/// Where in the schema an error's keyword is, as a pointer without `$ref` hops.
fn keyword_location(error: &ValidationError<'_>) -> String {
    if let Some(uri) = error.absolute_keyword_location()
        && let Some((_, fragment)) = uri.as_str().split_once('#')
    {
        return fragment.replace("%24", "$");
    }
    error.schema_path().as_str().to_string()
}

fn describe(
    error: &ValidationError<'_>,
    source: &Source,
    json: &Value,
    schema: &Value,
    out: &mut Vec<Diagnostic>,
) {
    let pointer = error.instance_path().as_str().to_string();
    let instance = json.pointer(&pointer).unwrap_or(&Value::Null);
    let location = keyword_location(error);
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let at = At {
                pointer: &pointer,
                location: &location,
                instance,
                json,
                schema,
            };
            unknown_keys(unexpected, &at, source, out);
        }
        ValidationErrorKind::PropertyNames { error } => {
            let bad = error.instance().as_str().unwrap_or_default().to_string();
            let key_pointer = format!("{pointer}/{}", super::source::escape(&bad));
            let msg = if pointer.ends_with("/currencies") {
                format!(
                    "\"{bad}\" is not a currency code; use ISO 4217 codes in capitals, e.g. USD, EUR"
                )
            } else if pointer.ends_with("/countries") {
                format!(
                    "\"{bad}\" is not a country code; use ISO 3166 two-letter codes in capitals, e.g. US, GB"
                )
            } else {
                format!("invalid key \"{bad}\" in {}", table_label(&pointer, json))
            };
            out.push(source.error_at_key(&key_pointer, msg));
        }
        ValidationErrorKind::OneOfNotValid { context } => {
            describe_one_of(&pointer, instance, context, source, json, schema, out);
        }
        kind => {
            let msg = value_message(error, kind, &pointer, &location, instance, json);
            out.push(source.error_at(&pointer, msg));
        }
    }
}

/// Where a schema error is: the value's pointer, the schema keyword's location, the value,
/// the whole file as JSON and the schema.
struct At<'a> {
    pointer: &'a str,
    location: &'a str,
    instance: &'a Value,
    json: &'a Value,
    schema: &'a Value,
}

/// Keys the schema does not allow, each at its own key, with a suggestion.
fn unknown_keys(unexpected: &[String], at: &At<'_>, source: &Source, out: &mut Vec<Diagnostic>) {
    let At {
        pointer,
        location,
        instance,
        json,
        schema,
    } = *at;
    let parent = location.rsplit_once('/').map_or("", |(p, _)| p);
    let allowed: Vec<String> = schema
        .pointer(&format!("{parent}/properties"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    for key in unexpected {
        let mut msg = format!("unknown key \"{key}\" in {}", table_label(pointer, json));
        if let Some(s) = did_you_mean(key, allowed.iter().map(String::as_str)) {
            msg.push_str(&format!("; did you mean \"{s}\"?"));
        } else if !allowed.is_empty() {
            msg.push_str(&format!("; expected one of {}", allowed.join(", ")));
        }
        if pointer == "/target" && instance.get("kind").is_none() {
            msg.push_str(
                " (a target without `kind` is simulated; write kind = \"http\" for a real service)",
            );
        }
        let key_pointer = format!("{pointer}/{}", super::source::escape(key));
        out.push(source.error_at_key(&key_pointer, msg));
    }
}

/// What is wrong with the value at `pointer`, in a person's words.
fn value_message(
    error: &ValidationError<'_>,
    kind: &ValidationErrorKind,
    pointer: &str,
    location: &str,
    instance: &Value,
    json: &Value,
) -> String {
    let what = key_label(pointer, json);
    match kind {
        ValidationErrorKind::Required { property } => {
            let property = property.as_str().unwrap_or_default();
            match (pointer.is_empty(), property) {
                (true, "phase") => NO_PHASES.to_string(),
                (true, p) => format!("missing [{p}] table"),
                (false, p) => format!("missing key \"{p}\" in {}", table_label(pointer, json)),
            }
        }
        ValidationErrorKind::Type { kind } => {
            type_message(kind, pointer, location, instance, &what)
        }
        ValidationErrorKind::Enum { options } => {
            let options: Vec<&str> = options
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let got = instance
                .as_str()
                .map_or_else(|| instance.to_string(), str::to_string);
            let mut msg = format!(
                "unknown {} \"{got}\"; expected {}",
                value_noun(pointer),
                one_of(&options)
            );
            if let Some(s) = did_you_mean(&got, options.iter().copied()) {
                msg.push_str(&format!("; did you mean \"{s}\"?"));
            }
            msg
        }
        ValidationErrorKind::Constant { expected_value } => {
            format!("{what} must be {expected_value}")
        }
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => {
            format!("{what} must be at least {limit}, not {instance}")
        }
        ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => {
            format!(
                "{what} must be at most {}, not {instance}",
                plain_number(limit)
            )
        }
        ValidationErrorKind::Pattern { pattern } => {
            pattern_message(pattern, pointer, instance, &what)
        }
        ValidationErrorKind::MinItems { .. } if pointer == "/phase" => NO_PHASES.to_string(),
        ValidationErrorKind::MinItems { limit } => format!("{what} needs at least {limit} item(s)"),
        ValidationErrorKind::MinLength { .. } => format!("{what} must not be empty"),
        ValidationErrorKind::MaxLength { limit } => {
            format!("{what} is too long; at most {limit} characters")
        }
        ValidationErrorKind::MinProperties { .. } => format!("{what} needs at least one entry"),
        ValidationErrorKind::AnyOf { .. } if pointer.ends_with("/outside") => {
            let mut msg = format!(
                "{what} must be \"failures\" or a list of phases to leave out, e.g. outside = [\"warm-up\"]"
            );
            if let Some(got) = instance.as_str()
                && did_you_mean(got, ["failures"]).is_some()
            {
                msg.push_str("; did you mean \"failures\"?");
            }
            msg
        }
        ValidationErrorKind::AnyOf { .. } if pointer.ends_with("/phase") => format!(
            "{what} must be a phase's name or a list of them, e.g. phase = \"peak\" or phase = [\"warm-up\", \"peak\"]"
        ),
        _ => format!("{what}: {error}"),
    }
}

const NO_PHASES: &str = "the scenario has no [[phase]]; add at least one phase of load";

fn type_message(
    kind: &TypeKind,
    pointer: &str,
    location: &str,
    instance: &Value,
    what: &str,
) -> String {
    let expected = match kind {
        TypeKind::Single(t) => t.to_string(),
        TypeKind::Multiple(ts) => ts
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(" or "),
    };
    let found = type_name(instance);
    if location.contains("/Duration/") {
        format!("{what} must be a duration string like \"30s\" or \"1m30s\", not {found}")
    } else if expected == "array" && instance.is_object() && is_array_of_tables(pointer) {
        let name = segments(pointer).pop().unwrap_or_default();
        format!("write [[{name}]] (an array of tables, one per {name}), not [{name}]")
    } else if let Some(percent) = percent_for_number(&expected, instance) {
        // A percentage where the field takes a fraction, as checks write them.
        format!(
            "{what} must be a number, not a string; fields take fractions, not percentages: write {} for {percent}%",
            percent / 100.0
        )
    } else {
        let mut msg = format!("{what} must be {}, not {found}", article(&expected));
        if let Some(shape) = shape_of(pointer) {
            msg.push_str(&format!(", e.g. {shape}"));
        }
        msg
    }
}

/// The percentage a string such as "2%" holds, where a number was expected.
fn percent_for_number(expected: &str, instance: &Value) -> Option<f64> {
    let text = instance.as_str()?.trim();
    let n: f64 = text.strip_suffix('%')?.trim().parse().ok()?;
    (expected == "number" && n.is_finite()).then_some(n)
}

/// What a table-valued key looks like, for a value of the wrong type.
fn shape_of(pointer: &str) -> Option<&'static str> {
    let key = pointer.rsplit('/').next().unwrap_or_default();
    Some(match key {
        "repeat" => "repeat = { every = \"1m\", count = 3 }",
        "load" => "load = { pattern = \"constant\", rate = 100 }",
        "service_time" => "service_time = { median = \"20ms\", p99 = \"80ms\" }",
        "decision" => "decision = { pointer = \"/decision\", block = [\"block\"] }",
        "countries" => "countries = { US = 0.4, GB = 0.2 }",
        "currencies" => "currencies = { USD = 0.5, EUR = 0.3 }",
        "headers" => "headers = { Authorization = \"Bearer ${TOKEN}\" }",
        "body" if pointer.starts_with("/target") => "body = { template = \"body.j2\" }",
        "capacity" => "[capacity] with error_rate = 0.01 and degraded_share = 0.05",
        "business" => "[business] with cost_per_million = 40.0",
        _ => return None,
    })
}

/// A name as gauntlet writes names: lower case, `_`, spaces and dots as dashes, nothing else;
/// None when nothing is left or it is the same.
fn normalised_name(got: &str) -> Option<String> {
    let mut n = String::new();
    for c in got.trim().chars() {
        match c {
            'a'..='z' | '0'..='9' => n.push(c),
            'A'..='Z' => n.push(c.to_ascii_lowercase()),
            '_' | ' ' | '.' | '-' if !n.is_empty() && !n.ends_with('-') => n.push('-'),
            _ => {}
        }
    }
    let n = n.trim_end_matches('-').to_string();
    (!n.is_empty() && n != got).then_some(n)
}

fn pattern_message(pattern: &str, pointer: &str, instance: &Value, what: &str) -> String {
    let got = instance.as_str().unwrap_or_default();
    if pattern == DURATION_PATTERN {
        format!(
            "invalid duration \"{got}\" for {what}; write a number and a unit (h, m, s, ms, us), e.g. \"250ms\", \"30s\", \"5m\", \"1m30s\""
        )
    } else if pattern == NAME_PATTERN || pattern == OCCURRENCE_PATTERN {
        let mut msg = format!(
            "invalid name \"{got}\" for {what}; names use lower-case letters, digits and dashes"
        );
        match normalised_name(got) {
            Some(n) => msg.push_str(&format!("; did you mean \"{n}\"?")),
            None => msg.push_str(", e.g. \"ramp-up\""),
        }
        msg
    } else if pointer == "/target/url" {
        format!(
            "invalid url \"{got}\"; expected an http:// or https:// URL such as \"http://127.0.0.1:8080/score\" (or one from the environment, \"${{API_URL}}/score\")"
        )
    } else if pointer == "/target/method" {
        format!("invalid method \"{got}\"; write it in capitals, e.g. \"POST\"")
    } else if pointer.ends_with("/pointer") {
        format!("invalid JSON pointer \"{got}\"; it starts with a slash, e.g. \"/decision\"")
    } else {
        format!("invalid value \"{got}\" for {what}")
    }
}

/// A tagged enum (`pattern` of a load, `kind` of a target or failure) failed: if the tag names
/// a variant, that variant's own errors are the precise ones; otherwise the tag is unknown.
/// jsonschema lists the branches' errors in the order of the schema's `oneOf`.
fn describe_one_of(
    pointer: &str,
    instance: &Value,
    context: &[Vec<ValidationError<'static>>],
    source: &Source,
    json: &Value,
    schema: &Value,
    out: &mut Vec<Diagnostic>,
) {
    if let (Some(key), Some(tags)) = (tag_key_for(pointer), all_tags(pointer, schema)) {
        let tag = match instance.get(key) {
            Some(tag) => tag.as_str().map_or_else(|| tag.to_string(), str::to_string),
            // `kind` may be left out of [target]: it is then simulated.
            None if pointer == "/target" => "simulated".to_string(),
            None => {
                out.push(source.error_at(
                    pointer,
                    format!(
                        "missing key \"{key}\" in {}; expected one of {}",
                        table_label(pointer, json),
                        tags.join(", ")
                    ),
                ));
                return;
            }
        };
        let Some(branch) = tags.iter().position(|t| *t == tag) else {
            let refs: Vec<&str> = tags.iter().map(String::as_str).collect();
            let mut msg = format!(
                "unknown {} \"{tag}\"; expected one of {}",
                tag_noun(pointer),
                refs.join(", ")
            );
            if let Some(s) = did_you_mean(&tag, refs.iter().copied()) {
                msg.push_str(&format!("; did you mean \"{s}\"?"));
            }
            out.push(source.error_at(&format!("{pointer}/{key}"), msg));
            return;
        };
        if let Some(errors) = context.get(branch) {
            for e in errors {
                describe(e, source, json, schema, out);
            }
            return;
        }
    }
    // An enum whose variants are documented is a `oneOf` of `const`s.
    let constants: Vec<&str> = context
        .iter()
        .filter_map(|branch| match branch.as_slice() {
            [e] if e.instance_path().as_str() == pointer => match e.kind() {
                ValidationErrorKind::Constant { expected_value } => expected_value.as_str(),
                _ => None,
            },
            _ => None,
        })
        .collect();
    if !constants.is_empty() && constants.len() == context.len() {
        let got = instance
            .as_str()
            .map_or_else(|| instance.to_string(), str::to_string);
        let mut msg = format!(
            "unknown {} \"{got}\"; expected {}",
            value_noun(pointer),
            one_of(&constants)
        );
        if let Some(s) = did_you_mean(&got, constants.iter().copied()) {
            msg.push_str(&format!("; did you mean \"{s}\"?"));
        }
        out.push(source.error_at(pointer, msg));
        return;
    }
    let msg = if pointer.ends_with("/body") {
        "body must be \"transaction\" or { template = \"PATH\" }".to_string()
    } else {
        format!("{} is not valid here", key_label(pointer, json))
    };
    out.push(source.error_at(pointer, msg));
}

/// The tag key of the tagged table at `pointer`, if it is one.
fn tag_key_for(pointer: &str) -> Option<&'static str> {
    let segs = segments(pointer);
    match segs.as_slice() {
        [t] if t == "target" => Some("kind"),
        [f, _] if f == "failure" => Some("kind"),
        [p, _, l] if p == "phase" && l == "load" => Some("pattern"),
        _ => None,
    }
}

fn all_tags(pointer: &str, schema: &Value) -> Option<Vec<String>> {
    let (def, key) = match tag_key_for(pointer)? {
        "pattern" => ("Load", "pattern"),
        _ if pointer == "/target" => ("Target", "kind"),
        _ => ("Failure", "kind"),
    };
    let variants = schema.pointer(&format!("/$defs/{def}/oneOf"))?.as_array()?;
    Some(
        variants
            .iter()
            .filter_map(|v| {
                v.pointer(&format!("/properties/{key}/const"))?
                    .as_str()
                    .map(str::to_string)
            })
            .collect(),
    )
}

fn tag_noun(pointer: &str) -> &'static str {
    if pointer.ends_with("/load") {
        "load pattern"
    } else if pointer == "/target" {
        "target kind"
    } else {
        "failure kind"
    }
}

fn value_noun(pointer: &str) -> String {
    match pointer {
        "/scenario/arrivals" => "arrival spacing".to_string(),
        "/target/model" => "model".to_string(),
        "/workload/kind" => "workload kind".to_string(),
        p => format!(
            "value for {}",
            segments(p)
                .pop()
                .map(|s| format!("\"{s}\""))
                .unwrap_or_default()
        ),
    }
}

fn is_array_of_tables(pointer: &str) -> bool {
    matches!(pointer, "/phase" | "/failure" | "/criterion")
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table",
    }
}

fn article(json_type: &str) -> String {
    match json_type {
        "object" => "a table".to_string(),
        "integer" => "an integer (a whole number)".to_string(),
        "array" => "an array".to_string(),
        t => format!("a {t}"),
    }
}

fn plain_number(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
        _ => v.to_string(),
    }
}

/// `[[phase]] "ramp-up"`, `[target.components.gateway]`, `"load" in [[phase]] #2`.
pub fn table_label(pointer: &str, json: &Value) -> String {
    let segs = segments(pointer);
    if segs.is_empty() {
        return "the top level".to_string();
    }
    if matches!(segs[0].as_str(), "phase" | "failure" | "criterion")
        && segs.len() >= 2
        && let Ok(index) = segs[1].parse::<usize>()
    {
        let entry = json.pointer(&format!("/{}/{index}", segs[0]));
        // Failures without a name are called KIND-COMPONENT, as everywhere else.
        let default_name = entry.and_then(|e| {
            let kind = e.get("kind")?.as_str()?;
            let component = e.get("component")?.as_str()?;
            Some(format!("{kind}-{component}"))
        });
        let name = entry
            .and_then(|e| e.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or(default_name);
        let who = match name {
            Some(name) => format!("[[{}]] \"{name}\"", segs[0]),
            None => match entry.and_then(|e| e.get("check")).and_then(Value::as_str) {
                Some(check) => format!("[[criterion]] \"{check}\""),
                None => format!("[[{}]] #{}", segs[0], index + 1),
            },
        };
        if segs.len() == 2 {
            return who;
        }
        return format!("\"{}\" in {who}", dotted(&segs[2..]));
    }
    format!("[{}]", segs.join("."))
}

/// `"load.from" in [[phase]] "ramp-up"`, `"seed" in [scenario]`, `item 2 of "formats" in [report]`.
pub fn key_label(pointer: &str, json: &Value) -> String {
    let segs = segments(pointer);
    if segs.is_empty() {
        return "the scenario".to_string();
    }
    let in_array_table = matches!(segs[0].as_str(), "phase" | "failure" | "criterion")
        && segs.get(1).is_some_and(|s| s.parse::<usize>().is_ok());
    if in_array_table {
        if segs.len() == 2 {
            return table_label(pointer, json);
        }
        let owner = table_label(&format!("/{}/{}", segs[0], segs[1]), json);
        return format!("\"{}\" in {owner}", dotted(&segs[2..]));
    }
    if segs.len() == 1 {
        return format!("[{}]", segs[0]);
    }
    let last = &segs[segs.len() - 1];
    let parent = format!("[{}]", segs[..segs.len() - 1].join("."));
    match last.parse::<usize>() {
        Ok(n) if segs.len() >= 2 => format!(
            "item {} of \"{}\" in [{}]",
            n + 1,
            segs[segs.len() - 2],
            segs[..segs.len() - 2].join(".")
        ),
        _ => format!("\"{last}\" in {parent}"),
    }
}

/// `load.from`, `formats[2]`.
fn dotted(segs: &[String]) -> String {
    let mut out = String::new();
    for s in segs {
        match s.parse::<usize>() {
            Ok(n) => out.push_str(&format!("[{}]", n + 1)),
            Err(_) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(s);
            }
        }
    }
    out
}
