//! The scenario's text and where things are in it. TOML is parsed once with byte spans; every
//! value is converted to JSON (for the schema) and indexed by its JSON pointer, so any later
//! stage can turn "/phase/2/load/pattern" back into a line and column of the file.

use std::collections::HashMap;
use std::ops::Range;

use serde_json::{Map, Number, Value};
use toml::de::{DeTable, DeValue};

use super::diagnostic::Diagnostic;

/// The largest scenario file gauntlet reads. Real scenarios are a few kilobytes; this bound
/// keeps a mistaken path (a log file, a binary) from costing memory and time.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;
/// The deepest nesting of arrays and tables a scenario may use (the language needs 4).
pub const MAX_DEPTH: usize = 32;

/// Where one value is: its key (for values in tables) and the value itself.
#[derive(Clone, Debug)]
pub struct Place {
    pub key: Option<Range<usize>>,
    pub value: Range<usize>,
}

/// A scenario file's text, with line starts and the place of every value.
pub struct Source {
    pub path: String,
    pub text: String,
    line_starts: Vec<usize>,
    places: HashMap<String, Place>,
}

impl Source {
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source {
            path: path.into(),
            text,
            line_starts,
            places: HashMap::new(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, byte: usize) -> (usize, usize) {
        let byte = byte.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= byte) - 1;
        let start = self.line_starts[line];
        let col = self.text[start..floor_char_boundary(&self.text, byte)]
            .chars()
            .count();
        (line + 1, col + 1)
    }

    /// A diagnostic pointing at `span`.
    pub fn error(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        let (line, column) = self.line_col(span.start);
        let line_start = self.line_starts[line - 1];
        let line_end = self.text[line_start..]
            .find('\n')
            .map_or(self.text.len(), |i| line_start + i);
        let source_line = self.text[line_start..line_end].trim_end_matches('\r');
        // The caret covers the span's part on its first line, at least one character.
        let end = span.end.min(line_start + source_line.len()).max(span.start);
        let width = self.text
            [floor_char_boundary(&self.text, span.start)..floor_char_boundary(&self.text, end)]
            .chars()
            .count()
            .max(1);
        Diagnostic {
            file: self.path.clone(),
            line,
            column,
            message: message.into(),
            source_line: Some(source_line.to_string()),
            caret_width: width,
        }
    }

    /// A diagnostic at the value `pointer` names (or the nearest enclosing value that exists).
    pub fn error_at(&self, pointer: &str, message: impl Into<String>) -> Diagnostic {
        let span = self.value_span(pointer);
        self.error(span, message)
    }

    /// A diagnostic at the key of the value `pointer` names (its value when it has no key).
    pub fn error_at_key(&self, pointer: &str, message: impl Into<String>) -> Diagnostic {
        let span = self.key_span(pointer);
        self.error(span, message)
    }

    pub fn place(&self, pointer: &str) -> Option<&Place> {
        self.places.get(pointer)
    }

    /// The span of the value at `pointer`, or of its nearest existing ancestor.
    pub fn value_span(&self, pointer: &str) -> Range<usize> {
        let mut p = pointer;
        loop {
            if let Some(place) = self.places.get(p) {
                return place.value.clone();
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return 0..0,
            }
        }
    }

    /// The span of the key of the value at `pointer` (falls back to the value's span).
    pub fn key_span(&self, pointer: &str) -> Range<usize> {
        match self.places.get(pointer) {
            Some(Place { key: Some(k), .. }) => k.clone(),
            _ => self.value_span(pointer),
        }
    }

    /// The text of the value at `pointer` exactly as written in the file.
    pub fn raw(&self, pointer: &str) -> Option<&str> {
        let place = self.places.get(pointer)?;
        self.text.get(place.value.clone())
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Escapes one pointer segment (RFC 6901).
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Splits a JSON pointer into its unescaped segments.
pub fn segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Reads raw bytes as a scenario: UTF-8 text within the size bound, then TOML, converted to
/// JSON with every value's place recorded. All syntax errors are returned at once.
pub fn parse(path: &str, bytes: &[u8]) -> Result<(Source, Value), Vec<Diagnostic>> {
    if bytes.len() > MAX_FILE_BYTES {
        let source = Source::new(path, "");
        return Err(vec![source.error(
            0..0,
            format!(
                "the file is {:.1} MiB; a scenario may be at most {} MiB (is this the right file?)",
                bytes.len() as f64 / (1024.0 * 1024.0),
                MAX_FILE_BYTES / (1024 * 1024)
            ),
        )]);
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = &bytes[..e.valid_up_to()];
            let source = Source::new(path, String::from_utf8_lossy(bytes).into_owned());
            let at = valid.len();
            return Err(vec![source.error(
                at..at + 1,
                "the file is not UTF-8 text; a scenario is a TOML file (is this the right file?)",
            )]);
        }
    };
    let mut source = Source::new(path, text);
    let (table, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        let mut diags: Vec<Diagnostic> = errors
            .iter()
            .map(|e| {
                let span = e.span().unwrap_or(0..0);
                source.error(span, format!("invalid TOML: {}", toml_message(e.message())))
            })
            .collect();
        diags.dedup_by(|a, b| a.line == b.line && a.column == b.column);
        return Err(diags);
    }
    let mut places = HashMap::new();
    let mut diags = Vec::new();
    let root = table.span();
    places.insert(
        String::new(),
        Place {
            key: None,
            value: root,
        },
    );
    let json = convert_table(table.get_ref(), "", 0, &mut places, &mut diags, &source);
    if !diags.is_empty() {
        return Err(diags);
    }
    source.places = places;
    Ok((source, Value::Object(json)))
}

fn toml_message(message: &str) -> String {
    let m = message.trim();
    let mut chars = m.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().collect::<String>() + chars.as_str(),
        None => "syntax error".to_string(),
    }
}

fn convert_table(
    table: &DeTable<'_>,
    pointer: &str,
    depth: usize,
    places: &mut HashMap<String, Place>,
    diags: &mut Vec<Diagnostic>,
    source: &Source,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in table.iter() {
        let child = format!("{pointer}/{}", escape(key.get_ref()));
        places.insert(
            child.clone(),
            Place {
                key: Some(key.span()),
                value: value.span(),
            },
        );
        let v = convert_value(
            value.get_ref(),
            value.span(),
            &child,
            depth + 1,
            places,
            diags,
            source,
        );
        out.insert(key.get_ref().to_string(), v);
    }
    out
}

fn convert_value(
    value: &DeValue<'_>,
    span: Range<usize>,
    pointer: &str,
    depth: usize,
    places: &mut HashMap<String, Place>,
    diags: &mut Vec<Diagnostic>,
    source: &Source,
) -> Value {
    if depth > MAX_DEPTH {
        if diags.is_empty() {
            diags.push(source.error(
                span,
                format!("nesting deeper than {MAX_DEPTH} levels; a scenario needs at most 4"),
            ));
        }
        return Value::Null;
    }
    match value {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(i) => match i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()) {
            Ok(n) => Value::Number(n.into()),
            Err(_) => {
                diags.push(source.error(
                    span,
                    "integer out of range: a TOML integer is a signed 64-bit number, from \
                     -9223372036854775808 to 9223372036854775807",
                ));
                Value::Null
            }
        },
        DeValue::Float(f) => match f
            .as_str()
            .replace('_', "")
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
        {
            Some(n) => Value::Number(n),
            None => {
                diags.push(source.error(span, format!("{} is not a finite number", f.as_str())));
                Value::Null
            }
        },
        DeValue::Boolean(b) => Value::Bool(*b),
        // No key of the language takes a date; as a string it fails the schema's type check.
        DeValue::Datetime(d) => Value::String(d.to_string()),
        DeValue::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let child = format!("{pointer}/{i}");
                    places.insert(
                        child.clone(),
                        Place {
                            key: None,
                            value: item.span(),
                        },
                    );
                    convert_value(
                        item.get_ref(),
                        item.span(),
                        &child,
                        depth + 1,
                        places,
                        diags,
                        source,
                    )
                })
                .collect(),
        ),
        DeValue::Table(t) => Value::Object(convert_table(t, pointer, depth, places, diags, source)),
    }
}
