//! Helpers: the built binary, scenarios written to temporary files, plans compiled in-process.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use gauntlet::plan::{self, Plan};
use gauntlet::scenario;

/// The repository's root (tests run with it as the working directory).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `gauntlet` with the repository root as working directory.
pub fn gauntlet() -> Command {
    let mut cmd = Command::cargo_bin("gauntlet").expect("the binary is built");
    cmd.current_dir(root());
    cmd
}

/// A scenario written to a temporary folder (kept alive by the returned guard).
pub struct Written {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub fn write(name: &str, text: &str) -> Written {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write scenario");
    Written { dir, path }
}

/// Compiles scenario text in-process, panicking with the diagnostics if it is invalid.
pub fn compile(text: &str) -> Plan {
    try_compile(text).unwrap_or_else(|e| panic!("scenario should be valid:\n{e}"))
}

/// Compiles scenario text in-process; the rendered diagnostics on failure.
pub fn try_compile(text: &str) -> Result<Plan, String> {
    let loaded = scenario::load_bytes("test.toml", text.as_bytes(), PathBuf::from("."))
        .map_err(|d| scenario::render(&d))?;
    plan::compile(&loaded, None).map_err(|d| scenario::render(&d))
}

/// A one-phase scenario with the given `load = ...` value and duration.
pub fn one_phase(load: &str, duration: &str) -> String {
    format!(
        "[scenario]\nname = \"t\"\nseed = 42\n\n[[phase]]\nname = \"p\"\nduration = \"{duration}\"\nload = {load}\n"
    )
}

pub fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(root().join(path)).expect("read file")
}
