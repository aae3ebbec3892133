//! Writing results: atomically (a temporary file beside it, then a rename), so a reader never
//! sees half a file, whether the run ended, stopped or was killed between checkpoints.

use std::path::Path;

use super::Results;

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    write_atomic_with(path, |f| f.write_all(bytes))
}

/// [`write_atomic`] with the content written by `fill`.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        fill(&mut f)?;
        // On disk before it takes the name: a crash leaves the old file or the new, never a
        // torn one.
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    // And the rename itself survives a crash.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// results.json as written: pretty JSON with a final newline.
pub fn to_json(results: &Results) -> String {
    serde_json::to_string_pretty(results).expect("results serialize") + "\n"
}

/// Writes results.json (as [`to_json`] makes it) to `path` atomically, streaming it to the
/// file rather than building it in memory first.
pub fn write_results(path: &Path, results: &Results) -> std::io::Result<()> {
    write_atomic_with(path, |f| {
        use std::io::Write as _;
        let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
        serde_json::to_writer_pretty(&mut w, results)?;
        w.write_all(b"\n")?;
        w.flush()
    })
}
