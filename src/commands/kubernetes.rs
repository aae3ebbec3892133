//! `gauntlet kubernetes FILE --shards N --image IMAGE [--namespace NS] [--start-in D]
//! [--claim NAME]`: prints the manifests that run a scenario as N shards on Kubernetes and
//! merge them (docs/distributed.md):
//!
//! - a ConfigMap holding the scenario;
//! - an Indexed Job (`completionMode: Indexed`, `completions = parallelism = N`): pod K runs
//!   `gauntlet run --shards N` (K from `JOB_COMPLETION_INDEX`) from one start instant a little
//!   in the future, and writes its results to `/results/RUN/shard-K` on a shared volume;
//! - a Job that waits for every shard's `shard.json`, then runs `gauntlet merge` into
//!   `/results/RUN/merged`.
//!
//! `${NAME}` references in the scenario come from a Secret named `gauntlet-env` (a reference
//! with a default is optional there).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use super::Error;
use crate::scenario::model::Target;

pub struct Options {
    pub file: PathBuf,
    pub shards: u64,
    pub image: String,
    pub namespace: String,
    pub start_in: Duration,
    pub claim: String,
}

/// A DNS-1123 label, as Kubernetes names and namespaces must be.
fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A YAML scalar for any string: a JSON string is a valid YAML double-quoted scalar.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// The scenario as a literal block under a key indented by `indent` spaces, or as one quoted
/// scalar when a block could not hold it as it is.
fn block(text: &str, indent: usize) -> String {
    let body = text.trim_end_matches(['\n', '\r']);
    let plain = !body.is_empty()
        && !body.contains('\r')
        && !body.contains('\t')
        && !body.starts_with([' ', '\n'])
        && body.lines().all(|l| !l.ends_with(' '));
    if !plain {
        return quoted(text);
    }
    let pad = " ".repeat(indent + 2);
    let mut out = String::from("|\n");
    for line in body.lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "{pad}{line}");
        }
    }
    out.trim_end_matches('\n').to_string()
}

pub fn run(o: &Options) -> Result<ExitCode, Error> {
    let loaded = crate::scenario::load_file(&o.file)?;
    let plan = crate::plan::compile(&loaded, None).map_err(|d| Error::diagnostics(&d))?;
    if matches!(plan.target, Target::Simulated { .. }) {
        return Err(Error::Invalid(format!(
            "{}: the simulated target is one system in virtual time and cannot be sharded; run it whole",
            o.file.display()
        )));
    }
    if !plan.probes.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: the scenario has [[probe]]s, whose scrapes shards do not merge; run probes in an unsharded run",
            o.file.display()
        )));
    }
    crate::shard::ShardId::new(0, o.shards)
        .map_err(|e| Error::Invalid(format!("--shards: {e}")))?;
    if !is_label(&o.namespace) {
        return Err(Error::Invalid(format!(
            "--namespace {}: not a Kubernetes namespace (lower-case letters, digits and -, at most 63)",
            o.namespace
        )));
    }
    if !is_label(&o.claim) {
        return Err(Error::Invalid(format!(
            "--claim {}: not a Kubernetes name (lower-case letters, digits and -, at most 63)",
            o.claim
        )));
    }
    if o.image.trim().is_empty() || o.image.chars().any(char::is_whitespace) {
        return Err(Error::Invalid(format!(
            "--image \"{}\": not a container image reference",
            o.image
        )));
    }
    let start = SystemTime::now() + o.start_in;
    let start_at = crate::clock::rfc3339(start);
    // Job names hold the scenario's name and the start: at most 63 characters.
    let stamp = crate::clock::compact(start).replace('-', "");
    let mut base: String = format!("gauntlet-{}", plan.name)
        .chars()
        .take(63 - 1 - stamp.len() - "-shards".len())
        .collect();
    while base.ends_with('-') {
        base.pop();
    }
    let run = format!("{base}-{stamp}");
    let n = o.shards;
    let ns = &o.namespace;
    let image = quoted(&o.image);
    let file_name = "scenario.toml";
    // The scenario's ${NAME}s, from the Secret gauntlet-env.
    let mut env = String::new();
    let mut seen = std::collections::BTreeSet::new();
    for r in crate::plan::env_references(&loaded.source.text).unwrap_or_default() {
        if seen.insert(r.name.to_string()) {
            let _ = write!(
                env,
                "\n            - name: {}\n              valueFrom:\n                secretKeyRef:\n                  name: gauntlet-env\n                  key: {}{}",
                r.name,
                r.name,
                if r.default.is_some() {
                    "\n                  optional: true"
                } else {
                    ""
                }
            );
        }
    }
    // Long enough for every shard to start, run and be merged; then Kubernetes gives up.
    let deadline_s = o.start_in.as_secs() + plan.duration_ns.div_ceil(1_000_000_000) + 600;
    let labels = format!(
        "app.kubernetes.io/name: gauntlet\n    app.kubernetes.io/instance: {run}\n    gauntlet.dev/scenario: {}",
        plan.name
    );
    let security = "securityContext:\n        runAsNonRoot: true\n        runAsUser: 10001\n        runAsGroup: 10001\n        fsGroup: 10001";
    let container_security = "securityContext:\n            allowPrivilegeEscalation: false\n            readOnlyRootFilesystem: true\n            capabilities:\n              drop: [\"ALL\"]";
    let volumes = format!(
        "volumes:\n        - name: scenario\n          configMap:\n            name: {run}\n        - name: results\n          persistentVolumeClaim:\n            claimName: {}",
        o.claim
    );
    let mut y = String::new();
    let _ = write!(
        y,
        "# gauntlet {version}: {name} as {n} shards from {start_at}, merged into /results/{run}/merged\n\
# on the volume {claim}. Apply with: kubectl apply -f -\n\
apiVersion: v1\n\
kind: ConfigMap\n\
metadata:\n  name: {run}\n  namespace: {ns}\n  labels:\n    {labels}\n\
data:\n  {file_name}: {scenario}\n\
---\n\
apiVersion: batch/v1\n\
kind: Job\n\
metadata:\n  name: {run}-shards\n  namespace: {ns}\n  labels:\n    {labels}\n\
spec:\n  completionMode: Indexed\n  completions: {n}\n  parallelism: {n}\n  backoffLimit: 0\n  activeDeadlineSeconds: {deadline_s}\n  ttlSecondsAfterFinished: 86400\n\
  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: gauntlet\n        app.kubernetes.io/component: shard\n        app.kubernetes.io/instance: {run}\n\
    spec:\n      restartPolicy: Never\n      {security}\n\
      containers:\n        - name: shard\n          image: {image}\n\
          args: [\"run\", \"/scenario/{file_name}\", \"--shards\", \"{n}\", \"--start-at\", \"{start_at}\", \"--progress\", \"lines\", \"--out\", \"/results/{run}/shard-$(SHARD)\"]\n\
          env:\n            - name: SHARD\n              valueFrom:\n                fieldRef:\n                  fieldPath: metadata.annotations['batch.kubernetes.io/job-completion-index']{env}\n\
          {container_security}\n\
          volumeMounts:\n            - name: scenario\n              mountPath: /scenario\n              readOnly: true\n            - name: results\n              mountPath: /results\n\
      {volumes}\n\
---\n\
apiVersion: batch/v1\n\
kind: Job\n\
metadata:\n  name: {run}-merge\n  namespace: {ns}\n  labels:\n    {labels}\n\
spec:\n  backoffLimit: 2\n  activeDeadlineSeconds: {deadline_s}\n  ttlSecondsAfterFinished: 86400\n\
  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: gauntlet\n        app.kubernetes.io/component: merge\n        app.kubernetes.io/instance: {run}\n\
    spec:\n      restartPolicy: Never\n      {security}\n\
      initContainers:\n        - name: wait-for-shards\n          image: {image}\n\
          command: [\"/bin/sh\", \"-c\"]\n\
          args: [\"until [ \\\"$(ls /results/{run}/shard-*/shard.json 2>/dev/null | wc -l)\\\" -ge {n} ]; do sleep 5; done\"]\n\
          {container_security}\n\
          volumeMounts:\n            - name: results\n              mountPath: /results\n\
      containers:\n        - name: merge\n          image: {image}\n\
          args: [\"merge\", {dirs}, \"--out\", \"/results/{run}/merged\"]\n\
          {container_security}\n\
          volumeMounts:\n            - name: scenario\n              mountPath: /scenario\n              readOnly: true\n            - name: results\n              mountPath: /results\n\
      {volumes}\n",
        version = env!("CARGO_PKG_VERSION"),
        name = plan.name,
        claim = o.claim,
        scenario = block(&loaded.source.text, 2),
        dirs = (0..n)
            .map(|k| format!("\"/results/{run}/shard-{k}\""))
            .collect::<Vec<_>>()
            .join(", "),
    );
    super::print(&y)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_blocks() {
        assert!(is_label("default"));
        assert!(is_label("load-tests-2"));
        assert!(!is_label("Load"));
        assert!(!is_label("-x"));
        assert!(!is_label(""));
        assert_eq!(block("a = 1\n\nb = 2\n", 2), "|\n    a = 1\n\n    b = 2");
        // What a literal block cannot hold as it is becomes one quoted scalar.
        assert_eq!(block("  indented\n", 2), "\"  indented\\n\"");
        assert_eq!(block("a\tb\n", 2), "\"a\\tb\\n\"");
    }
}
