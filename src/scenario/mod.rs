//! Stage 1 of the pipeline: a scenario file as written. Reading goes in three layers, each
//! reporting every error it finds with the file, line and column: TOML syntax, then the JSON
//! Schema (shape, types, ranges), then serde into the typed model. Meaning across keys (names
//! that must exist, failures that must end within the run) is checked when the plan is
//! compiled, because it needs the compiled timeline. This stage never looks at the plan.

pub mod check;
pub mod diagnostic;
pub mod model;
pub mod schema;
pub mod source;
mod suggest;

use std::path::{Path, PathBuf};

use serde_json::Value;

pub use diagnostic::Diagnostic;
pub use model::Scenario;
pub use source::Source;
pub use suggest::{all_of, did_you_mean, one_of};

/// A scenario that parsed and matched the schema, with its text kept for later diagnostics.
pub struct Loaded {
    pub source: Source,
    /// The file as JSON, as the schema saw it.
    pub json: Value,
    pub scenario: Scenario,
    /// The folder relative paths in the scenario (templates) are resolved against.
    pub base_dir: PathBuf,
    /// Schema errors of parts that were set aside so the rest could still be checked for
    /// meaning (see `salvage`); compiling reports them with the meaning errors, in one pass.
    pub schema_errors: Vec<Diagnostic>,
}

/// Why a scenario could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("error: {path}: cannot read the scenario: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", render(.0))]
    Invalid(Vec<Diagnostic>),
}

/// All diagnostics, one after another.
pub fn render(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("")
}

/// Reads and checks a scenario file.
pub fn load_file(path: &Path) -> Result<Loaded, LoadError> {
    let shown = path.display().to_string();
    let bytes = read_bounded(path).map_err(|source| LoadError::Io {
        path: shown.clone(),
        source,
    })?;
    let base_dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    load_bytes(&shown, &bytes, base_dir).map_err(LoadError::Invalid)
}

/// Reads at most one byte past the size limit, so a huge file costs nothing to reject.
fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    if file.metadata()?.is_dir() {
        return Err(std::io::Error::other("it is a folder, not a file"));
    }
    let mut bytes = Vec::new();
    file.take(source::MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Checks a scenario given as bytes; `path` is only used in messages.
pub fn load_bytes(path: &str, bytes: &[u8], base_dir: PathBuf) -> Result<Loaded, Vec<Diagnostic>> {
    let (source, json) = source::parse(path, bytes)?;
    let located = schema::validate_at(&source, &json);
    let mut typed = json.clone();
    let mut schema_errors = Vec::new();
    if !located.is_empty() {
        let mut diags: Vec<Diagnostic> = located.iter().map(|(_, d)| d.clone()).collect();
        diagnostic::sort(&mut diags);
        match salvage(&json, &located) {
            Some(rest) if schema::validate(&source, &rest).is_empty() => {
                typed = rest;
                schema_errors = diags;
            }
            _ => return Err(diags),
        }
    }
    normalize(&mut typed);
    let scenario: Scenario = serde_path_to_error::deserialize(&typed).map_err(|e| {
        let pointer = to_pointer(e.path());
        vec![source.error_at(&pointer, e.inner().to_string())]
    })?;
    Ok(Loaded {
        source,
        json,
        scenario,
        base_dir,
        schema_errors,
    })
}

/// The file with its schema errors set aside where the rest can still be checked for meaning
/// without errors that only follow from them: a `[[criterion]]` with an error is replaced by a
/// placeholder that checks nothing (so the others keep their places), and a `[business]`,
/// `[report]`, `[capacity]` or `[workload]` table with an error falls back to the defaults.
/// None when an error is elsewhere (the scenario, phases, failures or target shape what
/// everything else means).
fn salvage(json: &Value, located: &[(String, Diagnostic)]) -> Option<Value> {
    let mut rest = json.clone();
    for (pointer, _) in located {
        let mut parts = pointer.split('/').skip(1);
        match (parts.next(), parts.next()) {
            (Some("criterion"), Some(i)) => {
                let slot = rest
                    .get_mut("criterion")?
                    .get_mut(i.parse::<usize>().ok()?)?;
                *slot = serde_json::json!({ "check": "requests >= 0" });
            }
            (Some(table @ ("business" | "report" | "capacity" | "workload")), _) => {
                rest.as_object_mut()?.remove(table);
            }
            _ => return None,
        }
    }
    Some(rest)
}

/// Fills in what the schema lets a person leave out but serde's tagged enums need.
fn normalize(json: &mut Value) {
    if let Some(target) = json.get_mut("target").and_then(Value::as_object_mut) {
        target
            .entry("kind")
            .or_insert_with(|| Value::String("simulated".into()));
    }
}

fn to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out.push('/');
                out.push_str(&source::escape(key));
            }
            Segment::Unknown => {}
        }
    }
    out
}
