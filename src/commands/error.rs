//! The one error type of the commands: each knows its exit code (README.md), and `main` prints
//! it once, in one format (`error: …`, or a scenario's rendered diagnostics).

use crate::cli::exit;
use crate::report::{ReportError, WriteError};
use crate::scenario::{self, Diagnostic, LoadError};
use crate::targets::http::TargetError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A scenario's diagnostics, rendered with file, line, column, source line and caret.
    #[error("{0}")]
    Scenario(String),
    /// The command line, a template or another input is invalid (exit 2).
    #[error("{0}")]
    Invalid(String),
    /// The command could not be carried out (exit 3).
    #[error("{0}")]
    CannotRun(String),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Scenario(_) | Error::Invalid(_) => exit::INVALID,
            Error::CannotRun(_) => exit::CANNOT_RUN,
        }
    }

    /// The text `main` prints on stderr.
    pub fn render(&self) -> String {
        match self {
            Error::Scenario(text) => text.clone(),
            Error::Invalid(m) | Error::CannotRun(m) => format!("error: {m}\n"),
        }
    }

    pub fn diagnostics(diags: &[Diagnostic]) -> Error {
        Error::Scenario(scenario::render(diags))
    }
}

impl From<LoadError> for Error {
    fn from(e: LoadError) -> Error {
        match e {
            LoadError::Io { path, source } if source.kind() == std::io::ErrorKind::NotFound => {
                Error::Invalid(format!("{path}: cannot read the scenario: no such file"))
            }
            LoadError::Io { path, source } => {
                Error::Invalid(format!("{path}: cannot read the scenario: {source}"))
            }
            LoadError::Invalid(diags) => Error::diagnostics(&diags),
        }
    }
}

impl From<ReportError> for Error {
    fn from(e: ReportError) -> Error {
        Error::Invalid(e.to_string())
    }
}

impl From<WriteError> for Error {
    fn from(e: WriteError) -> Error {
        match e {
            WriteError::Render(e) => e.into(),
            other => Error::CannotRun(other.to_string()),
        }
    }
}

/// A target error about `file`: a broken body template is the scenario's fault (exit 2);
/// anything else means the run cannot be carried out (exit 3).
pub fn target(file: &std::path::Path, e: TargetError) -> Error {
    let m = format!("{}: {e}", file.display());
    match e {
        TargetError::Template(_) => Error::Invalid(m),
        _ => Error::CannotRun(m),
    }
}

/// An I/O failure while doing `what`.
pub fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::CannotRun(format!("{what}: {e}"))
}

/// `--out DIR` must be a folder or not exist yet: a file there is the person's mistake (exit 2),
/// not a failure to write (exit 3).
pub fn out_is_a_folder(dir: &std::path::Path) -> Result<(), Error> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::Invalid(format!(
            "--out {}: not a folder (a file of that name exists); give a folder, new or existing",
            dir.display()
        )));
    }
    Ok(())
}
