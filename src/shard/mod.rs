//! Shards: one run of a plan spread over several generators, merged back into one exact run.
//!
//! Shard `k` of `n` sends the arrivals numbered `i mod n == k` at their planned times, counted
//! from a start instant all shards share, and writes `shard.json` beside its results: every
//! histogram and counter a report or a criterion reads (per scope and per second, latency,
//! service time and generator lag), the plan's digest and seed, and the scenario's text.
//! `gauntlet merge` checks the shards belong together, adds them (HDR histograms add
//! exactly), and judges the criteria on the whole, so the verdict of n shards is the verdict
//! of one run of the same plan. The format is docs/distributed.md's, versioned by
//! [`VERSION`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

use crate::engine::Stop;
use crate::metrics::{Aggregate, Counts, Fraud, Merged, Recorder, Second};
use crate::plan::Plan;
use crate::targets::{CheckCounts, ErrorCounts, TargetReport};

/// The file a shard writes into its results folder.
pub const FILE: &str = "shard.json";
/// What `format` says in every shard file.
pub const FORMAT: &str = "gauntlet-shard";
/// The version of the format; `merge` refuses any other.
pub const VERSION: u32 = 1;

/// `K/N`: shard K (from 0) of N.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardId {
    pub k: u64,
    pub n: u64,
}

/// The most shards a run may be spread over.
pub const MAX_SHARDS: u64 = 10_000;

impl ShardId {
    pub fn new(k: u64, n: u64) -> Result<ShardId, String> {
        if n == 0 || n > MAX_SHARDS {
            return Err(format!(
                "the number of shards must be from 1 to {MAX_SHARDS}, not {n}"
            ));
        }
        if k >= n {
            return Err(format!(
                "shard {k} of {n} does not exist: shards are numbered from 0 to {}",
                n - 1
            ));
        }
        Ok(ShardId { k, n })
    }
}

impl std::fmt::Display for ShardId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl std::str::FromStr for ShardId {
    type Err = String;

    fn from_str(s: &str) -> Result<ShardId, String> {
        let (k, n) = s
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("\"{s}\" is not a shard: use K/N, e.g. 0/4"))?;
        let num = |x: &str| {
            x.trim()
                .parse::<u64>()
                .map_err(|_| format!("\"{s}\" is not a shard: use K/N, e.g. 0/4"))
        };
        ShardId::new(num(k)?, num(n)?)
    }
}

/// A histogram in HDR's V2 encoding compressed with DEFLATE, in base64 (empty: no samples).
fn one() -> u64 {
    1
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

fn encode(h: &Histogram<u64>) -> String {
    if h.is_empty() {
        return String::new();
    }
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(bytes),
        Err(e) => {
            tracing::error!("cannot encode a histogram: {e:?}");
            String::new()
        }
    }
}

fn decode(s: &str, sigfig: u8) -> Result<Histogram<u64>, String> {
    if s.is_empty() {
        return Ok(crate::metrics::histogram(sigfig));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| format!("a histogram is not base64: {e}"))?;
    let h: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("a histogram cannot be decoded: {e:?}"))?;
    // Re-bound it as the recorder's, so scopes add without loss.
    let mut out = crate::metrics::histogram(sigfig);
    out.add(&h)
        .map_err(|e| format!("a histogram is out of range: {e:?}"))?;
    Ok(out)
}

/// One scope (the run, a phase, a failure window, a request) as a shard measured it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScopeFile {
    pub counts: Counts,
    pub degraded: u64,
    /// µs from the planned start.
    pub latency: String,
    /// µs from the actual send.
    pub service: String,
    /// µs the generator sent late.
    pub lag: String,
    pub latency_sum_ns: u128,
    pub service_sum_ns: u128,
    pub latency_min_ns: u64,
    pub latency_max_ns: u64,
    pub service_min_ns: u64,
    pub service_max_ns: u64,
    pub fraud: Fraud,
}

impl ScopeFile {
    fn of(a: &Aggregate) -> ScopeFile {
        ScopeFile {
            counts: a.counts,
            degraded: a.degraded,
            latency: encode(&a.latency),
            service: encode(a.service()),
            lag: encode(&a.lag()),
            latency_sum_ns: a.latency_sum_ns,
            service_sum_ns: a.service_sum_ns,
            latency_min_ns: a.latency_min_ns,
            latency_max_ns: a.latency_max_ns,
            service_min_ns: a.service_min_ns,
            service_max_ns: a.service_max_ns,
            fraud: a.fraud.clone(),
        }
    }

    fn aggregate(&self, sigfig: u8) -> Result<Aggregate, String> {
        let mut a = Aggregate::new(sigfig);
        a.counts = self.counts;
        a.degraded = self.degraded;
        a.latency = decode(&self.latency, sigfig)?;
        a.set_service(decode(&self.service, sigfig)?);
        a.set_lag(decode(&self.lag, 2)?);
        a.latency_sum_ns = self.latency_sum_ns;
        a.service_sum_ns = self.service_sum_ns;
        a.latency_min_ns = self.latency_min_ns;
        a.latency_max_ns = self.latency_max_ns;
        a.service_min_ns = self.service_min_ns;
        a.service_max_ns = self.service_max_ns;
        a.fraud = self.fraud.clone();
        Ok(a)
    }
}

/// One second of the run (by planned start) as a shard measured it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SecondFile {
    pub t: u64,
    /// Seconds the entry covers (see `metrics::slot`).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub span: u64,
    pub counts: Counts,
    pub degraded: u64,
    /// Latency from the planned start, µs.
    pub latency: String,
}

/// Why a shard's run ended early.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StopFile {
    /// The criterion with this index (in the plan's order) failed live.
    Aborted {
        criterion: usize,
        at_ns: u64,
    },
    Interrupted {
        at_ns: u64,
    },
}

/// `shard.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShardFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`] when written.
    pub version: u32,
    pub gauntlet: String,
    pub scenario: String,
    pub digest: String,
    pub seed: u64,
    /// This shard's number, from 0.
    pub shard: u64,
    /// How many shards the run has.
    pub shards: u64,
    /// The start instant all shards share (RFC 3339).
    pub start_at: String,
    /// How late this shard started after it, ms (0 when on time).
    pub start_lag_ms: f64,
    /// The scenario's file name and text, so `merge` compiles the same plan.
    pub source_name: String,
    pub source: String,
    /// The scenario's folder where the shard ran (files it names, such as a body template,
    /// are looked up there when merging on the same machine, else beside the shard file).
    #[serde(default)]
    pub base_dir: String,
    /// The shard ran its whole plan.
    pub complete: bool,
    pub stop: Option<StopFile>,
    /// Where the shard's plan time stood when it ended, ns.
    pub end_ns: u64,
    pub run: ScopeFile,
    pub phases: Vec<ScopeFile>,
    pub failures: Vec<ScopeFile>,
    pub requests: Vec<ScopeFile>,
    pub seconds: Vec<SecondFile>,
    /// Errors by kind (`connect`, `status-5xx`, ...).
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Answers that failed their `expect`, by reason.
    pub check_failures: BTreeMap<String, u64>,
}

/// What a shard knows about itself besides its measurements.
pub struct Identity<'a> {
    pub id: ShardId,
    pub start_at: String,
    pub start_lag_ms: f64,
    pub source_name: &'a str,
    pub source: &'a str,
}

impl ShardFile {
    /// A finished shard's file.
    pub fn of(
        plan: &Plan,
        who: &Identity<'_>,
        rec: &Recorder,
        stop: Option<Stop>,
        end_ns: u64,
        target: &TargetReport,
    ) -> ShardFile {
        let kept = rec.kept.as_deref().unwrap_or(&[]);
        let (errors_by_kind, check_failures) = match target {
            TargetReport::Http { errors, checks } => (
                errors
                    .seen()
                    .map(|(k, n)| (k.name().to_string(), n))
                    .collect(),
                checks
                    .seen()
                    .map(|(k, n)| (k.name().to_string(), n))
                    .collect(),
            ),
            TargetReport::Simulated { .. } => Default::default(),
        };
        ShardFile {
            format: FORMAT.to_string(),
            version: VERSION,
            gauntlet: env!("CARGO_PKG_VERSION").to_string(),
            scenario: plan.name.clone(),
            digest: plan.digest.clone(),
            seed: plan.seed,
            shard: who.id.k,
            shards: who.id.n,
            start_at: who.start_at.clone(),
            start_lag_ms: who.start_lag_ms,
            source_name: who.source_name.to_string(),
            source: who.source.to_string(),
            base_dir: std::fs::canonicalize(&plan.base_dir)
                .unwrap_or_else(|_| plan.base_dir.clone())
                .display()
                .to_string(),
            complete: stop.is_none(),
            stop: stop.map(|s| match s {
                Stop::Aborted { criterion, at_ns } => StopFile::Aborted { criterion, at_ns },
                Stop::Interrupted { at_ns } => StopFile::Interrupted { at_ns },
            }),
            end_ns,
            run: ScopeFile::of(&rec.run),
            phases: rec.phases.iter().map(|a| ScopeFile::of(&a)).collect(),
            failures: rec.failures.iter().map(|a| ScopeFile::of(&a)).collect(),
            requests: rec.requests.iter().map(ScopeFile::of).collect(),
            seconds: rec
                .timeline
                .iter()
                .enumerate()
                .map(|(i, s)| SecondFile {
                    t: s.t,
                    span: s.span,
                    counts: s.counts,
                    degraded: s.degraded,
                    latency: kept.get(i).map(encode).unwrap_or_default(),
                })
                .collect(),
            errors_by_kind,
            check_failures,
        }
    }
}

/// A shard file read from a folder (or given as the file itself).
pub struct Read {
    pub path: PathBuf,
    pub file: ShardFile,
}

/// Reads `DIR/shard.json` (or the file `path`), refusing anything but a shard file of this
/// format's version.
pub fn read(path: &Path) -> Result<Read, String> {
    let path = if path.is_dir() {
        path.join(FILE)
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "{}: no shard results here (run with --shard K/N writes {FILE})",
                path.display()
            )
        } else {
            format!("{}: cannot read it: {e}", path.display())
        }
    })?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a shard file: {e}", path.display()))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(format!(
            "{}: not a gauntlet shard file (no \"format\": \"{FORMAT}\")",
            path.display()
        ));
    }
    let version = value.get("version").and_then(|v| v.as_u64());
    if version != Some(u64::from(VERSION)) {
        return Err(format!(
            "{}: shard format version {}, but this gauntlet ({}) reads version {VERSION}; merge with the gauntlet that ran the shards",
            path.display(),
            version.map_or("unknown".to_string(), |v| v.to_string()),
            env!("CARGO_PKG_VERSION")
        ));
    }
    let file: ShardFile = serde_json::from_value(value)
        .map_err(|e| format!("{}: a damaged shard file: {e}", path.display()))?;
    Ok(Read { path, file })
}

/// One shard as the merged report shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ShardRow {
    pub shard: u64,
    /// Where its results were read from.
    pub from: String,
    pub planned: u64,
    /// Sent and answered (ok, errors, timeouts).
    pub sent: u64,
    pub ok: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub dropped: u64,
    pub cancelled: u64,
    /// Its generator's lag p99, ms.
    pub lag_p99_ms: f64,
    /// How late it started after the shared start instant, ms.
    pub start_lag_ms: f64,
    pub complete: bool,
}

/// Shards merged into one run.
pub struct MergedRun {
    pub plan: Plan,
    pub recorder: Recorder,
    pub stop: Option<Stop>,
    pub end_ns: u64,
    pub complete: bool,
    pub target: TargetReport,
    pub rows: Vec<ShardRow>,
    pub start_at: String,
}

/// Checks that `shards` are every shard of one plan, once each, and adds them.
pub fn merge(mut shards: Vec<Read>) -> Result<MergedRun, String> {
    let Some(first) = shards.first() else {
        return Err("merge: give the folders of the shards' results".to_string());
    };
    let (digest, seed, n) = (
        first.file.digest.clone(),
        first.file.seed,
        first.file.shards,
    );
    let first_path = first.path.clone();
    for s in &shards[1..] {
        let f = &s.file;
        if f.digest != digest || f.seed != seed {
            return Err(format!(
                "{} and {} are shards of different plans ({} digest {} seed {}, and {} digest {} seed {}): merge the shards of one run only",
                first_path.display(),
                s.path.display(),
                first.file.scenario,
                &digest[..digest.len().min(12)],
                seed,
                f.scenario,
                &f.digest[..f.digest.len().min(12)],
                f.seed
            ));
        }
        if f.shards != n {
            return Err(format!(
                "{} is one of {} shards but {} is one of {}: merge the shards of one run only",
                s.path.display(),
                f.shards,
                first_path.display(),
                n
            ));
        }
        if f.start_at != first.file.start_at {
            return Err(format!(
                "{} started at {} but {} at {}: shards of one run share one --start-at",
                s.path.display(),
                f.start_at,
                first_path.display(),
                first.file.start_at
            ));
        }
    }
    shards.sort_by_key(|s| s.file.shard);
    for w in shards.windows(2) {
        if w[0].file.shard == w[1].file.shard {
            return Err(format!(
                "shard {}/{n} is given twice: {} and {}",
                w[0].file.shard,
                w[0].path.display(),
                w[1].path.display()
            ));
        }
    }
    let have: Vec<u64> = shards.iter().map(|s| s.file.shard).collect();
    let missing: Vec<String> = (0..n)
        .filter(|k| !have.contains(k))
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "shard{} {} {} missing (given: {}): a merge needs every shard of the run",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            if missing.len() > 1 { "are" } else { "is" },
            have.iter()
                .map(|k| format!("{k}/{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    let base = &shards[0].file;
    let base_dir = Some(PathBuf::from(&base.base_dir))
        .filter(|d| !base.base_dir.is_empty() && d.is_dir())
        .or_else(|| shards[0].path.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let loaded = crate::scenario::load_bytes(&base.source_name, base.source.as_bytes(), base_dir)
        .map_err(|d| crate::scenario::render(&d))?;
    let plan =
        crate::plan::compile(&loaded, Some(seed)).map_err(|d| crate::scenario::render(&d))?;
    if plan.digest != digest {
        return Err(format!(
            "{}: the scenario it carries compiles to digest {}, not the {} it ran: a different gauntlet version ran it",
            shards[0].path.display(),
            &plan.digest[..12],
            &digest[..digest.len().min(12)]
        ));
    }
    for s in &shards {
        let f = &s.file;
        if f.phases.len() != plan.phases.len()
            || f.failures.len() != plan.failures.len()
            || f.requests.len() != plan.requests.len()
        {
            return Err(format!(
                "{}: its scopes do not match the plan's phases, failures and requests",
                s.path.display()
            ));
        }
    }

    let err = |s: &Read| {
        let p = s.path.display().to_string();
        move |e: String| format!("{p}: {e}")
    };
    let mut run = Aggregate::new(3);
    let mut phases: Vec<Aggregate> = plan.phases.iter().map(|_| Aggregate::new(3)).collect();
    let mut failures: Vec<Aggregate> = plan.failures.iter().map(|_| Aggregate::new(2)).collect();
    let mut requests: Vec<Aggregate> = plan.requests.iter().map(|_| Aggregate::new(3)).collect();
    let mut seconds: Vec<(Second, Histogram<u64>)> = Vec::new();
    let mut errors = ErrorCounts::default();
    let mut checks = CheckCounts::default();
    let mut rows = Vec::new();
    let mut stop: Option<Stop> = None;
    let mut end_ns = 0;
    let mut complete = true;
    for s in &shards {
        let f = &s.file;
        let shard_run = f.run.aggregate(3).map_err(err(s))?;
        run.merge(&shard_run);
        for (into, from) in phases.iter_mut().zip(&f.phases) {
            into.merge(&from.aggregate(3).map_err(err(s))?);
        }
        for (into, from) in failures.iter_mut().zip(&f.failures) {
            into.merge(&from.aggregate(2).map_err(err(s))?);
        }
        for (into, from) in requests.iter_mut().zip(&f.requests) {
            into.merge(&from.aggregate(3).map_err(err(s))?);
        }
        for sec in &f.seconds {
            let t = sec.t;
            let at = crate::metrics::slot(t);
            if t > plan.duration_ns.div_ceil(1_000_000_000) + 3600 || at.start != t {
                return Err(format!(
                    "{}: second {t} lies far beyond the plan or off the timeline's layout",
                    s.path.display()
                ));
            }
            while seconds.len() <= at.index {
                let at = crate::metrics::slot_at(seconds.len());
                seconds.push((
                    Second {
                        t: at.start,
                        span: 0,
                        ..Second::default()
                    },
                    crate::metrics::histogram(2),
                ));
            }
            let (into, h) = &mut seconds[at.index];
            // A shard that stopped early closed fewer of a coarse entry's seconds.
            into.span = into.span.max(sec.span.clamp(1, at.span));
            into.counts.add(&sec.counts);
            into.degraded += sec.degraded;
            let _ = h.add(&decode(&sec.latency, 2).map_err(err(s))?);
        }
        for (name, count) in &f.errors_by_kind {
            if !errors.add_named(name, *count) {
                return Err(format!(
                    "{}: unknown error kind \"{name}\"",
                    s.path.display()
                ));
            }
        }
        for (name, count) in &f.check_failures {
            if !checks.add_named(name, *count) {
                return Err(format!(
                    "{}: unknown check failure \"{name}\"",
                    s.path.display()
                ));
            }
        }
        let shard_stop = f.stop.map(|st| match st {
            StopFile::Aborted { criterion, at_ns } => Stop::Aborted { criterion, at_ns },
            StopFile::Interrupted { at_ns } => Stop::Interrupted { at_ns },
        });
        if let Some(Stop::Aborted { criterion, .. }) = shard_stop
            && criterion >= plan.criteria.len()
        {
            return Err(format!(
                "{}: aborted by criterion {criterion}, which the plan does not have",
                s.path.display()
            ));
        }
        // The earliest abort stands for the run; an interrupt only when nothing aborted.
        stop = match (stop, shard_stop) {
            (None, x) | (x, None) => x,
            (Some(a @ Stop::Aborted { .. }), Some(b @ Stop::Aborted { .. })) => {
                Some(if b.at_ns() < a.at_ns() { b } else { a })
            }
            (Some(a @ Stop::Aborted { .. }), Some(_)) => Some(a),
            (Some(_), Some(b @ Stop::Aborted { .. })) => Some(b),
            (Some(a), Some(b)) => Some(if b.at_ns() < a.at_ns() { b } else { a }),
        };
        end_ns = end_ns.max(f.end_ns);
        complete &= f.complete;
        rows.push(ShardRow {
            shard: f.shard,
            from: s.path.display().to_string(),
            planned: f.run.counts.planned,
            sent: f.run.counts.answered(),
            ok: f.run.counts.ok,
            errors: f.run.counts.errors,
            timeouts: f.run.counts.timeouts,
            dropped: f.run.counts.dropped,
            cancelled: f.run.counts.cancelled,
            lag_p99_ms: match shard_run.lag() {
                lag if lag.is_empty() => 0.0,
                lag => crate::metrics::ms(lag.value_at_quantile(0.99)),
            },
            start_lag_ms: f.start_lag_ms,
            complete: f.complete,
        });
    }
    // An entry no shard closed covers its whole slot.
    for (second, _) in &mut seconds {
        if second.span == 0 {
            second.span = crate::metrics::slot(second.t).span;
        }
    }
    let start_at = base.start_at.clone();
    let plan_arc = Arc::new(plan.clone());
    let recorder = Recorder::merged(
        plan_arc,
        Merged {
            run,
            phases,
            failures,
            requests,
            seconds,
            probes: plan
                .probes
                .iter()
                .map(|p| crate::probe::ProbeLog::new(p.series.len()))
                .collect(),
        },
    );
    Ok(MergedRun {
        plan,
        recorder,
        stop,
        end_ns,
        complete,
        target: TargetReport::Http { errors, checks },
        rows,
        start_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::{Rng, SeedableRng};

    #[test]
    fn shard_ids_parse_and_refuse() {
        assert_eq!("2/4".parse(), Ok(ShardId { k: 2, n: 4 }));
        assert!("4/4".parse::<ShardId>().is_err());
        assert!("0/0".parse::<ShardId>().is_err());
        assert!("1".parse::<ShardId>().is_err());
        assert!("a/b".parse::<ShardId>().is_err());
    }

    /// Samples split over shards, encoded, decoded and added give the percentiles of one
    /// histogram of every sample.
    #[test]
    fn merged_histograms_equal_one_histogram_of_all_samples() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut all = crate::metrics::histogram(3);
        let mut parts: Vec<Histogram<u64>> = (0..3).map(|_| crate::metrics::histogram(3)).collect();
        for i in 0..200_000u64 {
            // A long-tailed mix: most fast, some slow, a few very slow.
            let x = rng.next_u64();
            let v = match x % 100 {
                0 => 1_000_000 + x % 9_000_000,
                1..=9 => 50_000 + x % 400_000,
                _ => 1 + x % 30_000,
            };
            all.record(v).unwrap();
            parts[(i % 3) as usize].record(v).unwrap();
        }
        let mut merged = crate::metrics::histogram(3);
        for p in &parts {
            merged.add(decode(&encode(p), 3).unwrap()).unwrap();
        }
        assert_eq!(merged.len(), all.len());
        for q in [0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0] {
            assert_eq!(
                merged.value_at_quantile(q),
                all.value_at_quantile(q),
                "q {q}"
            );
        }
        assert_eq!(merged.max(), all.max());
        assert_eq!(merged.min(), all.min());
        // And the encoding is compact: far smaller than 8 bytes a sample.
        assert!(encode(&all).len() < 20_000, "{}", encode(&all).len());
    }

    #[test]
    fn an_empty_histogram_round_trips() {
        let h = crate::metrics::histogram(2);
        assert_eq!(encode(&h), "");
        assert!(decode("", 2).unwrap().is_empty());
        assert!(decode("not base64!", 2).is_err());
    }
}
