//! Helpers: the built binary, scenarios written to temporary files, plans compiled in-process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

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

/// Runs scenario `text` with the binary into a fresh folder: the scenario's guard, the run's
/// folder, and the run's outcome to assert on.
pub fn run_into(text: &str) -> (Written, PathBuf, assert_cmd::assert::Assert) {
    let w = write("s.toml", text);
    let out = w.dir.path().join("out");
    let assert = gauntlet()
        .arg("run")
        .arg(&w.path)
        .arg("--out")
        .arg(&out)
        .assert();
    (w, out, assert)
}

/// A run folder's results.json, as JSON.
pub fn results_json(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap()
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

/// A running gauntlet process whose output lines (stdout or stderr) are read as they come;
/// killed when dropped.
pub struct Lines {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Lines {
    /// Starts `cmd`, reading its stdout.
    pub fn stdout(mut cmd: std::process::Command) -> Lines {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("gauntlet starts");
        let out = child.stdout.take().unwrap();
        Lines::reading(child, out)
    }

    /// Starts `cmd`, reading its stderr (stdout is kept for `finish`).
    pub fn stderr(mut cmd: std::process::Command) -> Lines {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gauntlet starts");
        let err = child.stderr.take().unwrap();
        Lines::reading(child, err)
    }

    fn reading(child: Child, stream: impl std::io::Read + Send + 'static) -> Lines {
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Lines {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (up to 30 s, for a loaded machine) for a line containing `text`.
    pub fn expect(&mut self, text: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with {text:?}; saw:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Waits (up to 2 minutes) for the process to end; its exit code and the lines left.
    pub fn finish(mut self) -> (i32, Vec<String>) {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
                    self.seen.push(line);
                }
                return (status.code().unwrap_or(-1), std::mem::take(&mut self.seen));
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the process did not end; saw:\n{}",
                self.seen.join("\n")
            );
            // Poll for the end: the lines were read on another thread.
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => self.seen.push(line),
                Err(_) => continue,
            }
        }
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Saves like vim or JetBrains: write a temporary file, rename it over the original.
pub fn save_by_rename(path: &Path, text: &str) {
    let tmp = path.with_extension("toml.tmp~");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}
