//! Following a file as an editor saves it. The folder is watched, not the file, so saves that
//! write a temporary file and rename it over the original (vim, JetBrains) and a file deleted
//! and created again are all seen; a burst of events within the debounce time is one change.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, new_debouncer};

/// How long events are gathered into one change.
pub const DEBOUNCE: Duration = Duration::from_millis(250);

/// A watched file.
pub struct FileWatch {
    rx: mpsc::Receiver<DebounceEventResult>,
    name: OsString,
    folder: PathBuf,
    _debouncer: notify_debouncer_full::Debouncer<
        notify::RecommendedWatcher,
        notify_debouncer_full::RecommendedCache,
    >,
}

impl FileWatch {
    pub fn new(path: &Path) -> notify::Result<FileWatch> {
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path.file_name().map(OsString::from).unwrap_or_default();
        let (tx, rx) = mpsc::channel();
        let mut debouncer = new_debouncer(DEBOUNCE, None, tx)?;
        debouncer.watch(&folder, RecursiveMode::NonRecursive)?;
        Ok(FileWatch {
            rx,
            name,
            folder,
            _debouncer: debouncer,
        })
    }

    /// Blocks until the file changes (saved, replaced, removed or created); false when the
    /// watcher stopped.
    pub fn next_change(&self) -> bool {
        loop {
            let Ok(result) = self.rx.recv() else {
                return false;
            };
            let Ok(events) = result else { continue };
            // Reading the file (as validating it does) raises access events: only a change
            // to its contents or its existence counts.
            let ours = events.iter().any(|e| {
                !matches!(
                    e.kind,
                    notify::EventKind::Access(_) | notify::EventKind::Other
                ) && e
                    .paths
                    .iter()
                    .any(|p| p.file_name() == Some(self.name.as_os_str()))
            });
            if ours {
                return true;
            }
        }
    }

    /// The watched folder.
    pub fn folder(&self) -> &Path {
        &self.folder
    }
}
