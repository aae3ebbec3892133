//! Stage 6: reports. Every report is a minijinja template rendered with the run's results
//! (`results`) and a few things computed for people (`view`: headline figures and chart
//! geometry). The built-in templates are the files in report-templates/, compiled into the
//! binary; a templates folder replaces any of them by file name and adds new formats.
//! Undefined variables are errors, so a typo in a template never renders as an empty string.

mod charts;

use std::path::{Path, PathBuf};

use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior};

use crate::template_error::explain;
use serde::Serialize;

use crate::results::Results;
use crate::units;

/// Built-in formats: (format name, output file, template source).
pub const BUILTIN: [(&str, &str, &str); 4] = [
    (
        "md",
        "report.md",
        include_str!("../../report-templates/report.md"),
    ),
    (
        "html",
        "report.html",
        include_str!("../../report-templates/report.html"),
    ),
    (
        "junit",
        "junit.xml",
        include_str!("../../report-templates/junit.xml"),
    ),
    (
        "summary",
        "summary.json",
        include_str!("../../report-templates/summary.json"),
    ),
];

/// Templates other templates import: the HTML reports' time chart.
const PARTIALS: [(&str, &str); 1] = [(
    "chart.html",
    include_str!("../../report-templates/chart.html"),
)];

/// The comparison reports of `gauntlet compare`: (format, template name, source).
const COMPARE: [(&str, &str, &str); 2] = [
    (
        "md",
        "compare.md",
        include_str!("../../report-templates/compare.md"),
    ),
    (
        "html",
        "compare.html",
        include_str!("../../report-templates/compare.html"),
    ),
];

/// An environment with gauntlet's filters, strict about undefined names.
fn environment() -> Result<Environment<'static>, ReportError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .expect("the default syntax is valid"),
    );
    add_filters(&mut env);
    for (name, source) in PARTIALS {
        env.add_template_owned(name.to_string(), source.to_string())?;
    }
    Ok(env)
}

/// Renders a comparison as `md` or `html` (`json` is its serialisation).
pub fn render_comparison(
    c: &crate::compare::Comparison,
    format: &str,
) -> Result<String, ReportError> {
    if format == "json" {
        return Ok(serde_json::to_string_pretty(c).unwrap_or_default() + "\n");
    }
    let Some((_, name, source)) = COMPARE.iter().find(|(f, _, _)| *f == format) else {
        return Err(ReportError::UnknownFormat(format.to_string()));
    };
    let mut env = environment()?;
    env.add_template_owned(name.to_string(), source.to_string())?;
    let charts = charts::comparison(c);
    Ok(env.get_template(name)?.render(minijinja::context! {
        c => Serde(c),
        charts => Serde(&charts),
    })?)
}

/// Files of a run's folder no report may overwrite: the run's record.
pub const RESERVED: [&str; 3] = ["results.json", "run.json", "shard.json"];

/// Why reports could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(
        "{0}: a template may not be named results.json, run.json or shard.json: its report would overwrite the run's own record; rename it"
    )]
    Reserved(String),
    #[error("{path}: cannot read the template folder: {source}")]
    Folder {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", describe(.0))]
    Template(#[from] minijinja::Error),
    /// A template's error, explained (`template_error::explain`).
    #[error("{0}")]
    Explained(String),
    #[error(
        "unknown report format \"{0}\"; expected one of md, html, junit, summary, or the name of a template in the templates folder"
    )]
    UnknownFormat(String),
    #[error(
        "{path}: this template would be the format \"{format}\", which is the built-in {builtin}: name it {builtin} to replace the built-in report, or give it another name"
    )]
    Builtin {
        path: String,
        format: String,
        builtin: &'static str,
    },
    #[error(
        "{path}: this template and {other} would both be the format \"{format}\"; rename one of them"
    )]
    SameFormat {
        path: String,
        other: String,
        format: String,
    },
}

fn describe(e: &minijinja::Error) -> String {
    let mut msg = match (e.name(), e.line()) {
        (Some(name), Some(line)) => format!(
            "{name}:{line}: {}",
            e.detail().unwrap_or(&e.kind().to_string())
        ),
        (Some(name), None) => format!("{name}: {}", e.detail().unwrap_or(&e.kind().to_string())),
        _ => e.to_string(),
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    msg
}

/// The templates available: the built-in ones, overridden and extended by `folder`.
pub struct Templates {
    env: Environment<'static>,
    /// Output file names of the folder's templates.
    custom: Vec<String>,
    /// Those of them that add a format (named after the part before the first dot), rather
    /// than replace a built-in template.
    formats: Vec<String>,
    folder: Option<PathBuf>,
}

impl Templates {
    /// Loads and compiles every template, so a syntax error shows before a run starts.
    pub fn load(folder: Option<&Path>) -> Result<Templates, ReportError> {
        let mut env = environment()?;
        for (_, file, source) in BUILTIN {
            env.add_template_owned(file.to_string(), source.to_string())?;
        }
        let mut custom = Vec::new();
        let mut formats: Vec<String> = Vec::new();
        if let Some(dir) = folder {
            let err = |source| ReportError::Folder {
                path: dir.display().to_string(),
                source,
            };
            let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(err)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            entries.sort();
            for path in entries {
                let Some(name) = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .map(str::to_string)
                else {
                    continue;
                };
                if RESERVED.contains(&name.as_str()) {
                    return Err(ReportError::Reserved(path.display().to_string()));
                }
                let source = std::fs::read_to_string(&path).map_err(err)?;
                // Templates are named by their path so errors point at the file.
                env.add_template_owned(name.clone(), source.clone())
                    .map_err(|e| {
                        let null = serde_json::Value::Null;
                        let shown = path.display().to_string();
                        ReportError::Explained(explain(&e, &shown, Some(&source), &null))
                    })?;
                if let Some(format) = new_format(&name) {
                    let at = || path.display().to_string();
                    if let Some((_, builtin, _)) = BUILTIN.iter().find(|(f, _, _)| *f == format) {
                        return Err(ReportError::Builtin {
                            path: at(),
                            format: format.to_string(),
                            builtin,
                        });
                    }
                    if let Some(other) = formats.iter().find(|o| new_format(o) == Some(format)) {
                        return Err(ReportError::SameFormat {
                            path: at(),
                            other: other.clone(),
                            format: format.to_string(),
                        });
                    }
                    formats.push(name.clone());
                }
                custom.push(name);
            }
        }
        Ok(Templates {
            env,
            custom,
            formats,
            folder: folder.map(Path::to_path_buf),
        })
    }

    /// The output file of a format.
    pub fn file_for(&self, format: &str) -> Result<String, ReportError> {
        if let Some((_, file, _)) = BUILTIN.iter().find(|(f, _, _)| *f == format) {
            return Ok(file.to_string());
        }
        self.formats
            .iter()
            .find(|name| new_format(name) == Some(format))
            .cloned()
            .ok_or_else(|| ReportError::UnknownFormat(format.to_string()))
    }

    /// Renders `formats` for `results`: (file name, contents) pairs.
    pub fn render(
        &self,
        results: &Results,
        formats: &[String],
    ) -> Result<Vec<(String, String)>, ReportError> {
        self.render_timed(results, formats, None)
    }

    /// The same, knowing the run's wall time in ms (from run.json), which JUnit reports.
    fn render_timed(
        &self,
        results: &Results,
        formats: &[String],
        wall_ms: Option<u64>,
    ) -> Result<Vec<(String, String)>, ReportError> {
        let mut view = View::new(results);
        view.wall_ms = wall_ms;
        let ctx = minijinja::context! {
            results => Serde(results),
            view => Serde(&view),
        };
        let mut out = Vec::new();
        for format in formats {
            let file = self.file_for(format)?;
            let template = self.env.get_template(&file)?;
            let text = template
                .render(&ctx)
                .map_err(|e| self.explain(&e, results, &view))?;
            out.push((file, text));
        }
        Ok(out)
    }
}

impl Templates {
    /// A rendering error in the person's words: the file (the folder's, or the built-in
    /// template's name), line, column and expression, and for a missing name, the names there.
    fn explain(&self, e: &minijinja::Error, results: &Results, view: &View) -> ReportError {
        let Some(name) = e.name() else {
            return ReportError::Explained(e.to_string());
        };
        let shown = match &self.folder {
            Some(dir) if self.custom.iter().any(|c| c == name) => {
                dir.join(name).display().to_string()
            }
            _ => format!("built-in template {name}"),
        };
        let source = self
            .env
            .get_template(name)
            .ok()
            .map(|t| t.source().to_string());
        let ctx = serde_json::json!({ "results": results, "view": view });
        ReportError::Explained(explain(e, &shown, source.as_deref(), &ctx))
    }
}

impl Templates {
    /// Renders `formats` and writes each into `dir` atomically; the files written.
    pub fn write(
        &self,
        results: &Results,
        formats: &[String],
        dir: &Path,
    ) -> Result<Vec<PathBuf>, WriteError> {
        // run.json beside the results gives the wall time (absent for a hand-made results file).
        let wall_ms = std::fs::read_to_string(dir.join("run.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["wall_ms"].as_u64());
        let mut written = Vec::new();
        for (name, text) in self.render_timed(results, formats, wall_ms)? {
            let path = dir.join(name);
            crate::results::write_atomic(&path, text.as_bytes()).map_err(|source| {
                WriteError::Io {
                    path: path.clone(),
                    source,
                }
            })?;
            written.push(path);
        }
        Ok(written)
    }
}

/// Why reports could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Render(#[from] ReportError),
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Names a template error after the file it came from.
/// The format a template of the folder named `name` adds: the part of its name before the
/// first dot. None for one that replaces a built-in template or partial (`report.md`,
/// `chart.html`, `compare.md`…) and for a name without a dot.
fn new_format(name: &str) -> Option<&str> {
    let builtin = BUILTIN.iter().map(|(_, file, _)| *file);
    let partial = PARTIALS.iter().map(|(file, _)| *file);
    let compare = COMPARE.iter().map(|(_, file, _)| *file);
    if builtin.chain(partial).chain(compare).any(|f| f == name) {
        return None;
    }
    name.split_once('.').map(|(stem, _)| stem)
}

/// A change as `compare` measures it: `+12.3%`, `-0.15 pt`, `+1.2 s`.
fn delta(v: Option<f64>, unit: &str) -> String {
    let Some(v) = v else {
        return "n/a".to_string();
    };
    let sign = if v > 0.0 {
        "+"
    } else if v < 0.0 {
        "-"
    } else {
        "±"
    };
    let a = v.abs();
    match unit {
        "relative" => format!("{sign}{}%", trimmed(a * 100.0, 1)),
        "points" => format!("{sign}{} pt", trimmed(a * 100.0, 2)),
        _ if a >= 1000.0 => format!("{sign}{} s", trimmed(a / 1000.0, 2)),
        _ => format!("{sign}{} ms", trimmed(a, 1)),
    }
}

/// A value of one of `compare`'s figures, in its own unit.
fn figure(v: Option<f64>, metric: &str) -> String {
    let Some(v) = v else {
        return "n/a".to_string();
    };
    if metric.starts_with("latency")
        || metric.starts_with("service_time")
        || metric == "recovery_time"
    {
        if v >= 1000.0 {
            format!("{} s", trimmed(v / 1000.0, 2))
        } else {
            format!("{} ms", trimmed(v, 1))
        }
    } else if metric == "throughput" {
        format!("{} TPS", trimmed(v, 1))
    } else {
        format!("{}%", trimmed(v * 100.0, 2))
    }
}

fn add_filters(env: &mut Environment<'static>) {
    env.add_filter("delta", |v: Option<f64>, unit: String| delta(v, &unit));
    env.add_filter("figure", |v: Option<f64>, metric: String| {
        figure(v, &metric)
    });
    // A latency in ms: "45.2 ms", "1.25 s"; nothing as "n/a".
    env.add_filter("ms", |v: Option<f64>| -> String {
        match v {
            None => "n/a".to_string(),
            Some(v) if v >= 1000.0 => format!("{} s", trimmed(v / 1000.0, 2)),
            Some(v) => format!("{} ms", trimmed(v, 1)),
        }
    });
    // A fraction as a percentage: 0.0012 -> "0.12%".
    env.add_filter("pct", |v: Option<f64>, digits: Option<usize>| -> String {
        match v {
            None => "n/a".to_string(),
            Some(v) => format!("{}%", trimmed(v * 100.0, digits.unwrap_or(2))),
        }
    });
    env.add_filter("thousands", |v: f64| -> String {
        if v < 0.0 {
            format!("-{}", units::thousands((-v) as u64))
        } else {
            units::thousands(v as u64)
        }
    });
    env.add_filter("usd", |v: Option<f64>| -> String {
        match v {
            None => "n/a".to_string(),
            Some(v) => {
                let cents = (v.abs() * 100.0).round() as u64;
                let sign = if v < 0.0 { "-" } else { "" };
                format!(
                    "{sign}${}.{:02}",
                    units::thousands(cents / 100),
                    cents % 100
                )
            }
        }
    });
    // Money at a glance: "$14.8M", "$97.8k", "$310".
    env.add_filter("usd_short", |v: Option<f64>| -> String {
        match v {
            None => "n/a".to_string(),
            Some(v) => {
                let sign = if v < 0.0 { "-" } else { "" };
                let a = v.abs();
                let (x, unit) = match a {
                    a if a >= 1e9 => (a / 1e9, "B"),
                    a if a >= 1e6 => (a / 1e6, "M"),
                    a if a >= 1e4 => (a / 1e3, "k"),
                    a => (a, ""),
                };
                let digits = if unit.is_empty() { 0 } else { 1 };
                format!("{sign}${}{unit}", trimmed(x, digits))
            }
        }
    });
    // A duration in ms as "1m30s".
    env.add_filter("duration", |v: Option<f64>| -> String {
        match v {
            None => "n/a".to_string(),
            Some(v) => units::ns((v.max(0.0) * 1e6) as u64),
        }
    });
    env.add_filter("num", |v: Option<f64>, digits: Option<usize>| -> String {
        v.map_or("n/a".to_string(), |v| trimmed(v, digits.unwrap_or(2)))
    });
}

fn trimmed(x: f64, d: usize) -> String {
    let s = format!("{x:.d$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// What the templates show beyond the raw results.
#[derive(Serialize)]
struct View {
    /// Transactions that got an answer.
    handled: u64,
    /// Fraudulent transactions blocked or sent to review.
    fraud_caught: u64,
    fraud_total: u64,
    /// The longest recovery, ms; None when no failure was injected.
    worst_recovery_ms: Option<u64>,
    unrecovered: Vec<String>,
    failed_checks: Vec<String>,
    /// Capacity is headlined for ramp and step loads and when a criterion asks for it.
    capacity_headline: bool,
    /// The injected failure under way or recovering when the first broken second started, if
    /// one was: capacity is then the failure's doing, not only the load's.
    capacity_during: Option<String>,
    /// How long the run took on the wall clock, ms (from run.json), when known.
    wall_ms: Option<u64>,
    charts: charts::Charts,
}

impl View {
    fn new(r: &Results) -> View {
        let t = &r.summary.totals;
        let fr = &r.summary.fraud;
        View {
            handled: t.counts.answered(),
            fraud_caught: fr
                .recall
                .map_or(0, |rc| (rc * fr.fraud as f64).round() as u64),
            fraud_total: fr.fraud,
            worst_recovery_ms: r.failures.iter().filter_map(|f| f.recovery_time_ms).max(),
            unrecovered: r
                .failures
                .iter()
                .filter(|f| f.injected && f.recovery_time_ms.is_none())
                .map(|f| f.name.clone())
                .collect(),
            failed_checks: r
                .criteria
                .iter()
                .filter(|c| c.status == "fail")
                .map(|c| c.check.clone())
                .collect(),
            capacity_headline: r
                .phases
                .iter()
                .any(|p| p.pattern == "ramp" || p.pattern == "step")
                || r.criteria.iter().any(|c| c.metric == "capacity.rate"),
            capacity_during: r.capacity.at_ms.and_then(|at| {
                r.failures
                    .iter()
                    .filter(|f| f.injected && f.start_ms <= at)
                    .find(|f| {
                        f.recovery_time_ms
                            .is_none_or(|rec| at < f.end_ms.saturating_add(rec.max(1_000)))
                    })
                    .map(|f| f.name.clone())
            }),
            wall_ms: None,
            charts: charts::Charts::new(r),
        }
    }
}

#[cfg(test)]
mod folder_tests {
    use super::*;

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    fn refused(files: &[(&str, &str)]) -> String {
        let dir = folder(files);
        match Templates::load(Some(dir.path())) {
            Ok(_) => panic!("{files:?} loaded"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_template_adds_the_format_named_before_its_first_dot() {
        let dir = folder(&[
            ("slack.txt", "{{ results.scenario }}"),
            ("report.txt", "r"),
            // Replaces the built-in md report; not a format of its own.
            ("report.md", "m"),
            ("chart.html", "{% macro chart(c) %}{% endmacro %}"),
        ]);
        let t = Templates::load(Some(dir.path())).unwrap();
        assert_eq!(t.file_for("slack").unwrap(), "slack.txt");
        assert_eq!(t.file_for("report").unwrap(), "report.txt");
        assert_eq!(t.file_for("md").unwrap(), "report.md");
        assert!(matches!(
            t.file_for("chart"),
            Err(ReportError::UnknownFormat(_))
        ));
    }

    #[test]
    fn a_template_that_would_shadow_a_format_is_refused() {
        let e = refused(&[("summary.txt", "s")]);
        assert!(e.contains("the built-in summary.json"), "{e}");
        let e = refused(&[("slack.md", "a"), ("slack.txt", "b")]);
        assert!(
            e.contains("slack.txt: this template and slack.md would both be the format \"slack\""),
            "{e}"
        );
    }
}
