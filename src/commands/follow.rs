//! `run --watch`: follows the scenario file on another thread and turns each save into an
//! edit for the engine (see `engine::live`).

use std::path::PathBuf;
use std::sync::Arc;

use crate::engine::live::Edit;
use crate::plan::Plan;
use crate::watch::FileWatch;

/// Follows `file` on another thread: each save becomes an edit for the engine. Invalid
/// versions have their diagnostics printed as they are found; a version that changes the
/// seed or the target is refused (either would break the plan's determinism); a save that
/// changes nothing in meaning is not an edit.
pub(super) fn follow(
    watcher: FileWatch,
    file: PathBuf,
    seed: Option<u64>,
    plan: &Plan,
    file_seed: u64,
) -> std::sync::mpsc::Receiver<Edit> {
    use super::validate::{Look, look};
    let (tx, rx) = std::sync::mpsc::channel();
    let target = serde_json::to_value(&plan.target).ok();
    let mut last = plan.digest.clone();
    std::thread::spawn(move || {
        while watcher.next_change() {
            let edit = match look(&file, seed) {
                Look::Gone => {
                    eprintln!(
                        "note: {} is gone; the running version stands until it comes back",
                        file.display()
                    );
                    continue;
                }
                Look::Invalid(errors) => Edit::Refused {
                    digest: None,
                    errors,
                },
                Look::Valid(new, new_file_seed) => {
                    let mut errors = Vec::new();
                    if seed.is_none() && new_file_seed != file_seed {
                        errors.push(format!(
                            "the seed changed from {file_seed} to {new_file_seed}; a running test keeps its seed so its plan stays reproducible (restart the run to use the new one)"
                        ));
                    }
                    if serde_json::to_value(&new.target).ok() != target {
                        errors.push(
                            "the target changed; a running test keeps its target (restart the run to test another one)"
                                .to_string(),
                        );
                    }
                    if !errors.is_empty() {
                        Edit::Refused {
                            digest: Some(new.digest.clone()),
                            errors,
                        }
                    } else if new.digest == last {
                        continue;
                    } else {
                        last = new.digest.clone();
                        Edit::Valid(Arc::new(*new))
                    }
                }
            };
            if tx.send(edit).is_err() {
                return;
            }
        }
    });
    rx
}
