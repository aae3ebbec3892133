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

/// The manifests, with `{placeholders}` filled in by `run`.
const MANIFESTS: &str = r#"# gauntlet {version}: {name} as {n} shards from {start_at}, merged into
# /results/{run}/merged on the volume {claim}. Apply with: kubectl apply -f -
apiVersion: v1
kind: ConfigMap
metadata:
  name: {run}
  namespace: {ns}
  labels:
    app.kubernetes.io/name: gauntlet
    app.kubernetes.io/instance: {run}
data:
  scenario.toml: {scenario}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {run}-shards
  namespace: {ns}
  labels:
    app.kubernetes.io/name: gauntlet
    app.kubernetes.io/instance: {run}
spec:
  completionMode: Indexed
  completions: {n}
  parallelism: {n}
  backoffLimit: 0
  activeDeadlineSeconds: {deadline}
  ttlSecondsAfterFinished: 86400
  template:
    metadata:
      labels:
        app.kubernetes.io/name: gauntlet
        app.kubernetes.io/component: shard
        app.kubernetes.io/instance: {run}
    spec:
      restartPolicy: Never
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        fsGroup: 10001
      containers:
        - name: shard
          image: {image}
          args: ["run", "/scenario/scenario.toml", "--shards", "{n}", "--start-at", "{start_at}", "--progress", "lines", "--out", "/results/{run}/shard-$(SHARD)"]
          env:
            - name: SHARD
              valueFrom:
                fieldRef:
                  fieldPath: metadata.annotations['batch.kubernetes.io/job-completion-index']{env}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
          volumeMounts:
            - name: scenario
              mountPath: /scenario
              readOnly: true
            - name: results
              mountPath: /results
      volumes:
        - name: scenario
          configMap:
            name: {run}
        - name: results
          persistentVolumeClaim:
            claimName: {claim}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {run}-merge
  namespace: {ns}
  labels:
    app.kubernetes.io/name: gauntlet
    app.kubernetes.io/instance: {run}
spec:
  backoffLimit: 2
  activeDeadlineSeconds: {deadline}
  ttlSecondsAfterFinished: 86400
  template:
    metadata:
      labels:
        app.kubernetes.io/name: gauntlet
        app.kubernetes.io/component: merge
        app.kubernetes.io/instance: {run}
    spec:
      restartPolicy: Never
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        fsGroup: 10001
      initContainers:
        - name: wait-for-shards
          image: {image}
          command: ["/bin/sh", "-c"]
          args: ["until [ \"$(ls /results/{run}/shard-*/shard.json 2>/dev/null | wc -l)\" -ge {n} ]; do sleep 5; done"]
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
          volumeMounts:
            - name: results
              mountPath: /results
      containers:
        - name: merge
          image: {image}
          args: ["merge", {dirs}, "--out", "/results/{run}/merged"]
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
          volumeMounts:
            - name: results
              mountPath: /results
      volumes:
        - name: results
          persistentVolumeClaim:
            claimName: {claim}
"#;

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
    let dirs = (0..n)
        .map(|k| format!("\"/results/{run}/shard-{k}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let y = MANIFESTS
        .replace("{version}", env!("CARGO_PKG_VERSION"))
        .replace("{name}", &plan.name)
        .replace("{run}", &run)
        .replace("{ns}", ns)
        .replace("{n}", &n.to_string())
        .replace("{image}", &image)
        .replace("{start_at}", &start_at)
        .replace("{deadline}", &deadline_s.to_string())
        .replace("{claim}", &o.claim)
        .replace("{dirs}", &dirs)
        .replace("{env}", &env)
        // Last: the scenario's text is not searched for placeholders.
        .replace("{scenario}", &block(&loaded.source.text, 2));
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
