//! Writing results: atomically (a temporary file beside it, then a rename), so a reader never
//! sees half a file, whether the run ended, stopped or was killed between checkpoints.

use std::path::Path;

use super::Results;

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// results.json as written: pretty JSON with a final newline.
pub fn to_json(results: &Results) -> String {
    serde_json::to_string_pretty(results).expect("results serialize") + "\n"
}
