//! Stage 4: measuring. Every finished transaction is recorded into HDR histograms and counters
//! for the run, its phase, the failure windows it was planned in, and its planned second.
//! Nothing is kept per request: memory depends on the number of scopes and seconds, never on
//! the number of transactions. Seconds stay open (in a small ring) until no transaction planned
//! in them can still be in flight, then shrink to a few numbers on the timeline.
//!
//! Outcomes come from the target; `planned` never does. When a second closes, the recorder
//! counts the arrivals the plan holds in it (from the version of the scenario in force then)
//! and adds them to the second and to every scope the second overlaps, so `lost` (planned
//! minus outcomes) shows any transaction the engine or the target failed to account for.

mod counts;
mod scopes;
pub mod tally;

use std::collections::VecDeque;
use std::sync::Arc;

use hdrhistogram::Histogram;

pub use counts::Counts;
pub use scopes::Scopes;

use crate::plan::Plan;
use crate::targets::{Decision, Finished, Outcome};
use tally::Tally;

const SECOND: u64 = 1_000_000_000;
/// Latencies are recorded in µs, from 1 µs to an hour.
const MAX_US: u64 = 3_600_000_000;

pub(crate) fn histogram(sigfig: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, sigfig).expect("valid histogram bounds")
}

/// Decisions against ground truth, and the money involved (integer cents).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fraud {
    /// Fraudulent transactions answered with a decision.
    pub fraud: u64,
    /// ... of which blocked or sent to review.
    pub fraud_flagged: u64,
    pub legit: u64,
    pub legit_flagged: u64,
    pub legit_blocked: u64,
    pub approves: u64,
    pub reviews: u64,
    pub blocks: u64,
    pub prevented_cents: u128,
    pub missed_cents: u128,
    /// Answers in which no decision could be read (see `Decision::Unread`).
    #[serde(default)]
    pub unread: u64,
}

/// Everything measured over one scope (the run, a phase, a failure window).
#[derive(Clone, Debug)]
pub struct Aggregate {
    pub counts: Counts,
    pub degraded: u64,
    /// From the planned start, µs.
    pub latency: Histogram<u64>,
    /// From the actual send, µs; `None` while every service time recorded equals its
    /// latency (a simulated run, where nothing is sent late), so it is the latency histogram
    /// (`service()`), recorded once instead of twice. It becomes its own at the first that
    /// differs, a copy of the latency histogram as it then is.
    service: Option<Histogram<u64>>,
    /// How late the generator sent, µs, apart from the `lag_floor` values at the 1 µs floor
    /// (no lag: every one of a simulated run's) counted and not recorded yet; `lag()` has
    /// them all.
    lag: Histogram<u64>,
    lag_floor: u64,
    pub latency_sum_ns: u128,
    pub service_sum_ns: u128,
    pub latency_min_ns: u64,
    pub latency_max_ns: u64,
    pub service_min_ns: u64,
    pub service_max_ns: u64,
    pub fraud: Fraud,
}

impl Aggregate {
    pub fn new(sigfig: u8) -> Self {
        Aggregate {
            counts: Counts::default(),
            degraded: 0,
            latency: histogram(sigfig),
            service: None,
            lag: histogram(2),
            lag_floor: 0,
            latency_sum_ns: 0,
            service_sum_ns: 0,
            latency_min_ns: u64::MAX,
            latency_max_ns: 0,
            service_min_ns: u64::MAX,
            service_max_ns: 0,
            fraud: Fraud::default(),
        }
    }

    /// Its figures with the smallest histograms in place of its own.
    fn clone_without_histograms(&self) -> Aggregate {
        let tiny = || Histogram::new_with_bounds(1, 2, 0).expect("valid histogram bounds");
        Aggregate {
            counts: self.counts,
            degraded: self.degraded,
            latency: tiny(),
            service: None,
            lag: tiny(),
            lag_floor: 0,
            latency_sum_ns: self.latency_sum_ns,
            service_sum_ns: self.service_sum_ns,
            latency_min_ns: self.latency_min_ns,
            latency_max_ns: self.latency_max_ns,
            service_min_ns: self.service_min_ns,
            service_max_ns: self.service_max_ns,
            fraud: self.fraud.clone(),
        }
    }

    /// Service times (from the actual send), µs.
    pub fn service(&self) -> &Histogram<u64> {
        self.service.as_ref().unwrap_or(&self.latency)
    }

    /// How late the generator sent, µs (built when values at the floor are pending).
    pub fn lag(&self) -> std::borrow::Cow<'_, Histogram<u64>> {
        if self.lag_floor == 0 {
            return std::borrow::Cow::Borrowed(&self.lag);
        }
        let mut h = self.lag.clone();
        h.saturating_record_n(1, self.lag_floor);
        std::borrow::Cow::Owned(h)
    }

    /// The service-time histogram as one of its own: a copy of the latency histogram as it
    /// stands, the first time.
    fn own_service(&mut self) -> &mut Histogram<u64> {
        self.service.get_or_insert_with(|| self.latency.clone())
    }

    /// Sets the lag histogram (read back from a file or a packed scope).
    pub fn set_lag(&mut self, h: Histogram<u64>) {
        self.lag = h;
        self.lag_floor = 0;
    }

    /// Sets the service-time histogram (read back from a file or a packed scope).
    pub fn set_service(&mut self, h: Histogram<u64>) {
        self.service = Some(h);
    }

    /// Transactions that were sent and got an outcome (ok, error or timeout).
    pub fn answered(&self) -> u64 {
        self.counts.answered()
    }

    pub fn record(&mut self, f: &Finished) {
        self.counts.record(f.outcome);
        if matches!(f.outcome, Outcome::Dropped | Outcome::Cancelled) {
            return;
        }
        let latency = f.done_ns - f.planned_ns;
        let service = f.done_ns - f.sent_ns;
        let (latency_us, service_us) = ((latency / 1_000).max(1), (service / 1_000).max(1));
        if self.service.is_some() || service_us != latency_us {
            self.own_service().saturating_record(service_us);
        }
        self.latency.saturating_record(latency_us);
        match ((f.sent_ns - f.planned_ns) / 1_000).max(1) {
            1 => self.lag_floor += 1,
            lag => self.lag.saturating_record(lag),
        }
        self.latency_sum_ns += latency as u128;
        self.service_sum_ns += service as u128;
        self.latency_min_ns = self.latency_min_ns.min(latency);
        self.latency_max_ns = self.latency_max_ns.max(latency);
        self.service_min_ns = self.service_min_ns.min(service);
        self.service_max_ns = self.service_max_ns.max(service);
        if f.degraded {
            self.degraded += 1;
        }
        if let Some(d) = f.decision {
            if d == Decision::Unread {
                self.fraud.unread += 1;
                return;
            }
            let flagged = d != Decision::Approve;
            let fr = &mut self.fraud;
            match d {
                Decision::Approve => fr.approves += 1,
                Decision::Review => fr.reviews += 1,
                Decision::Block => fr.blocks += 1,
                Decision::Unread => {}
            }
            if f.fraud {
                fr.fraud += 1;
                if flagged {
                    fr.fraud_flagged += 1;
                    fr.prevented_cents += f.amount_usd_cents as u128;
                } else {
                    fr.missed_cents += f.amount_usd_cents as u128;
                }
            } else {
                fr.legit += 1;
                fr.legit_flagged += flagged as u64;
                fr.legit_blocked += (d == Decision::Block) as u64;
            }
        }
    }

    /// Adds another scope's figures (histograms add exactly).
    pub fn merge(&mut self, o: &Aggregate) {
        self.counts.add(&o.counts);
        self.degraded += o.degraded;
        // The service times before the latencies, which they may be a copy of.
        if self.service.is_some() || o.service.is_some() {
            let _ = self.own_service().add(o.service());
        }
        let _ = self.latency.add(&o.latency);
        let _ = self.lag.add(&o.lag);
        self.lag_floor += o.lag_floor;
        self.latency_sum_ns += o.latency_sum_ns;
        self.service_sum_ns += o.service_sum_ns;
        self.latency_min_ns = self.latency_min_ns.min(o.latency_min_ns);
        self.latency_max_ns = self.latency_max_ns.max(o.latency_max_ns);
        self.service_min_ns = self.service_min_ns.min(o.service_min_ns);
        self.service_max_ns = self.service_max_ns.max(o.service_max_ns);
        let (a, b) = (&mut self.fraud, &o.fraud);
        a.fraud += b.fraud;
        a.fraud_flagged += b.fraud_flagged;
        a.legit += b.legit;
        a.legit_flagged += b.legit_flagged;
        a.legit_blocked += b.legit_blocked;
        a.approves += b.approves;
        a.reviews += b.reviews;
        a.blocks += b.blocks;
        a.prevented_cents += b.prevented_cents;
        a.missed_cents += b.missed_cents;
        a.unread += b.unread;
    }
}

/// What shards measured, added together: the input of [`Recorder::merged`].
pub struct Merged {
    pub run: Aggregate,
    pub phases: Vec<Aggregate>,
    pub failures: Vec<Aggregate>,
    pub requests: Vec<Aggregate>,
    /// Every second of the run: its counts (planned included) and latency histogram.
    pub seconds: Vec<(Second, Histogram<u64>)>,
    pub probes: Vec<crate::probe::ProbeLog>,
}

/// Seconds the timeline keeps one by one; beyond, an entry covers more of them.
pub const FULL_RESOLUTION_S: u64 = 3600;

/// Where second `t` lies on the timeline: the entry that holds it (its index, first second
/// and length in seconds). The first [`FULL_RESOLUTION_S`] seconds have an entry each; from
/// there every time the run's length doubles its entries do too (4 s from 1 h, 8 s from 2 h,
/// 16 s from 4 h ...: 900 entries per doubling), so a run of any length keeps at most about
/// 15,500 entries (the longest, 366 days) and memory and output stay bounded. The layout
/// depends on `t` alone, so shards, reloads and resumed runs all lay seconds out alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub index: usize,
    pub start: u64,
    pub span: u64,
}

pub fn slot(t: u64) -> Slot {
    const F: u64 = FULL_RESOLUTION_S;
    if t < F {
        return Slot {
            index: t as usize,
            start: t,
            span: 1,
        };
    }
    // t / F in [2^(k-1), 2^k): entries of 2^(k+1) seconds from F * 2^(k-1), F / 4 of them.
    let k = u64::from(64 - (t / F).leading_zeros());
    let region = F << (k - 1);
    let span = 2u64 << k;
    let n = (t - region) / span;
    Slot {
        index: (F + (k - 1) * (F / 4) + n) as usize,
        start: region + n * span,
        span,
    }
}

/// The entry at `index` of the layout [`slot`] describes.
pub fn slot_at(index: usize) -> Slot {
    const F: u64 = FULL_RESOLUTION_S;
    let i = index as u64;
    if i < F {
        return slot(i);
    }
    let k = (i - F) / (F / 4) + 1;
    let n = (i - F) % (F / 4);
    slot((F << (k - 1)) + n * (2u64 << k))
}

/// One entry of the timeline, by planned start, once final: a second, or beyond
/// [`FULL_RESOLUTION_S`] the `span` seconds from `t` on (see [`slot`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Second {
    pub t: u64,
    /// Seconds it covers: 1 up to [`FULL_RESOLUTION_S`]; beyond, those of its slot closed so
    /// far.
    pub span: u64,
    pub counts: Counts,
    pub degraded: u64,
    /// Latency percentiles in ms over the answered transactions; None when none were.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

impl Default for Second {
    fn default() -> Self {
        Second {
            t: 0,
            span: 1,
            counts: Counts::default(),
            degraded: 0,
            p50_ms: None,
            p95_ms: None,
            p99_ms: None,
        }
    }
}

impl Second {
    /// Where it starts on the plan's clock, ns.
    pub fn start_ns(&self) -> u64 {
        self.t * SECOND
    }

    /// Where it ends on the plan's clock, ns.
    pub fn end_ns(&self) -> u64 {
        (self.t + self.span) * SECOND
    }

    /// Whether it overlaps [start, end) (ns).
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start_ns() < end && self.end_ns() > start
    }

    /// Its latency percentiles from the histogram of its answered transactions.
    fn set_percentiles(&mut self, latency: &Histogram<u64>) {
        if !latency.is_empty() {
            self.p50_ms = Some(ms(latency.value_at_quantile(0.50)));
            self.p95_ms = Some(ms(latency.value_at_quantile(0.95)));
            self.p99_ms = Some(ms(latency.value_at_quantile(0.99)));
        }
    }

    /// Errors and timeouts over the transactions due: what availability and recovery read.
    pub fn failure_rate(&self) -> f64 {
        self.counts.failure_rate()
    }

    /// Degraded decisions over answered-with-a-decision.
    pub fn degraded_share(&self) -> f64 {
        if self.counts.ok == 0 {
            0.0
        } else {
            self.degraded as f64 / self.counts.ok as f64
        }
    }

    /// Whether anything was due in it (traffic that was not cancelled).
    pub fn had_traffic(&self) -> bool {
        self.counts.due() > 0
    }
}

struct OpenSecond {
    counts: Second,
    /// Counted in the buckets of `histogram(2)` (a shift and an add per transaction instead of
    /// the crate's checked record); made a histogram once, when the second closes.
    latency: Tally,
}

/// Records a run's transactions.
pub struct Recorder {
    pub run: Aggregate,
    /// One per phase of the plan, by planned start in the phase's window; packed once the
    /// phase's seconds have all closed.
    pub phases: Scopes,
    phase_windows: Vec<(u64, u64)>,
    /// One per failure occurrence of the plan, by planned start in its window; packed once
    /// its seconds have all closed.
    pub failures: Scopes,
    /// Phases and failure occurrences before these (in order of their ends) are packed.
    packed: (usize, usize),
    /// The failure occurrences by when their windows end.
    failures_by_end: Vec<usize>,
    /// One per request of the target's mix. Their `planned` counts arrivals as the engine
    /// draws them from the plan (each then ends in one outcome), not by second.
    pub requests: Vec<Aggregate>,
    windows: Vec<(u64, u64)>,
    /// One entry per closed second up to [`FULL_RESOLUTION_S`], coarser beyond (see [`slot`]).
    pub timeline: Vec<Second>,
    /// The latencies of the timeline's last entry when it covers more than a second.
    coarse: Histogram<u64>,
    open: VecDeque<OpenSecond>,
    first_open: u64,
    pool: Vec<Tally>,
    /// How long after its planned start a transaction may still finish.
    horizon_ns: u64,
    /// The versions of the scenario arrivals come from, each from its instant on (the plan,
    /// then one per accepted reload): what `planned` is counted from.
    schedule: Vec<(Arc<Plan>, u64)>,
    /// Latency over rolling windows, one series per window length a criterion asks for.
    pub rolling: Vec<Rolling>,
    /// One per probe of the plan: what its scrapes found.
    pub probes: Vec<crate::probe::ProbeLog>,
    /// Per probe, which series keep their rate of increase.
    probe_rates: Vec<Vec<bool>>,
    /// The simulated model's components, one entry per entry of the timeline (by when calls
    /// were made, laid out as the timeline is), added as each second of virtual time passes
    /// (see [`Recorder::components_second`]); empty for an http target.
    pub components: Vec<[crate::targets::ComponentSecond; 5]>,
    /// Seconds of the model's components recorded so far.
    component_seconds: u64,
    /// A shard of a run counts only its own arrivals as planned.
    shard: Option<ShardCount>,
    /// A shard keeps every timeline entry's latency histogram, so shards merge exactly.
    pub kept: Option<Vec<Histogram<u64>>>,
}

/// How a shard counts the plan's arrivals: those numbered `i` with `i mod n == k`. Arrivals
/// are numbered in time order, so the arrivals in [a, b) are numbered from the count before a
/// to the count before b; `base_n` arrivals precede `base_t` (the first open second's start),
/// which keeps every count a short walk.
#[derive(Clone, Copy, Debug)]
struct ShardCount {
    k: u64,
    n: u64,
    base_t: u64,
    base_n: u64,
}

impl ShardCount {
    /// How many of the numbers 0..count are the shard's.
    fn owned_below(&self, count: u64) -> u64 {
        if count > self.k {
            (count - self.k).div_ceil(self.n)
        } else {
            0
        }
    }
}

/// Latency statistics of every window of `seconds` consecutive seconds, as each closes: the
/// last `seconds` closed seconds' histograms are kept and merged, so memory is bounded by the
/// window, and each window leaves a few numbers. Windows that end in one coarse entry of the
/// timeline (see [`slot`]) share one record, holding the highest and lowest of each statistic.
pub struct Rolling {
    pub seconds: u64,
    /// The last `seconds` seconds' latencies (`None`: a second with none).
    ring: VecDeque<Option<Histogram<u64>>>,
    /// The sum of `ring`: each second is added as it closes and subtracted as it leaves the
    /// window, so a second costs two histograms' work whatever the window's length (merging
    /// the whole window anew cost a 10-minute window 600, which made a month-long soak
    /// crawl).
    sum: Histogram<u64>,
    /// The windows with an answered transaction, by the second they end in.
    pub windows: Vec<Windows>,
}

/// Statistics in ms (min, mean, p50, p90, p95, p99, p99.9, max) of the rolling windows that
/// end from second `first` to second `last`: each one's highest and lowest over them (the
/// same for a single window).
#[derive(Clone, Debug, PartialEq)]
pub struct Windows {
    pub first: u64,
    pub last: u64,
    pub high: [f64; 8],
    pub low: [f64; 8],
}

impl Rolling {
    fn new(seconds: u64) -> Rolling {
        Rolling {
            seconds,
            ring: VecDeque::new(),
            sum: histogram(2),
            windows: Vec::new(),
        }
    }

    /// Second `t` closed with latencies `h`.
    fn push(&mut self, t: u64, h: &Histogram<u64>) {
        if self.ring.len() as u64 == self.seconds
            && let Some(Some(old)) = self.ring.pop_front()
        {
            self.sum
                .subtract(&old)
                .expect("the window's sum holds every second it subtracts");
        }
        let kept = (!h.is_empty()).then(|| h.clone());
        if let Some(h) = &kept {
            let _ = self.sum.add(h);
        }
        self.ring.push_back(kept);
        if (self.ring.len() as u64) < self.seconds {
            return;
        }
        let all = &self.sum;
        if all.is_empty() {
            return;
        }
        let q = |x: f64| ms(all.value_at_quantile(x));
        let stats = [
            ms(all.min()),
            all.mean() / 1_000.0,
            q(0.50),
            q(0.90),
            q(0.95),
            q(0.99),
            q(0.999),
            ms(all.max()),
        ];
        let at = slot(t);
        match self.windows.last_mut() {
            Some(w) if at.span > 1 && w.first >= at.start => {
                w.last = t;
                for (i, v) in stats.into_iter().enumerate() {
                    w.high[i] = w.high[i].max(v);
                    w.low[i] = w.low[i].min(v);
                }
            }
            _ => self.windows.push(Windows {
                first: t,
                last: t,
                high: stats,
                low: stats,
            }),
        }
    }
}

/// The plan's failure occurrences in the order their windows end.
fn by_end(plan: &Plan) -> Vec<usize> {
    let mut order: Vec<usize> = (0..plan.failures.len()).collect();
    order.sort_by_key(|&j| plan.failures[j].end_ns);
    order
}

/// The window lengths (s) of the plan's criteria that judge latency over rolling windows.
fn rolling_lengths(plan: &Plan) -> Vec<u64> {
    let mut lengths: Vec<u64> = plan
        .criteria
        .iter()
        .filter(|c| matches!(c.check.metric, crate::scenario::check::Metric::Latency(_)))
        .filter_map(|c| c.window_s)
        .collect();
    lengths.sort_unstable();
    lengths.dedup();
    lengths
}

/// Latency in µs from a histogram quantile, as ms.
pub fn ms(us: u64) -> f64 {
    us as f64 / 1_000.0
}

impl Recorder {
    pub fn new(plan: Arc<Plan>, horizon_ns: u64) -> Recorder {
        Recorder {
            run: Aggregate::new(3),
            phases: Scopes::new(plan.phases.len(), 3),
            phase_windows: plan.phases.iter().map(|p| (p.start_ns, p.end_ns)).collect(),
            failures: Scopes::new(plan.failures.len(), 2),
            packed: (0, 0),
            failures_by_end: by_end(&plan),
            requests: plan.requests.iter().map(|_| Aggregate::new(3)).collect(),
            windows: plan
                .failures
                .iter()
                .map(|f| (f.start_ns, f.end_ns))
                .collect(),
            timeline: Vec::with_capacity(
                slot(plan.duration_ns / SECOND)
                    .index
                    .min(FULL_RESOLUTION_S as usize)
                    + 1,
            ),
            coarse: histogram(2),
            open: VecDeque::new(),
            first_open: 0,
            pool: Vec::new(),
            horizon_ns,
            rolling: rolling_lengths(&plan)
                .into_iter()
                .map(Rolling::new)
                .collect(),
            probes: plan
                .probes
                .iter()
                .map(|p| crate::probe::ProbeLog::new(p.series.len()))
                .collect(),
            probe_rates: plan
                .probes
                .iter()
                .map(|p| p.series.iter().map(|s| s.rate).collect())
                .collect(),
            schedule: vec![(plan, 0)],
            components: Vec::new(),
            component_seconds: 0,
            shard: None,
            kept: None,
        }
    }

    /// Makes this the recorder of shard `k` of `n`: it counts as planned only the arrivals
    /// numbered `i mod n == k`, and keeps each second's latency histogram for the merge.
    pub fn shard(&mut self, k: u64, n: u64) {
        self.shard = Some(ShardCount {
            k,
            n: n.max(1),
            base_t: 0,
            base_n: 0,
        });
        self.kept = Some(Vec::new());
    }

    /// The number of the first arrival planned at or after `t` (the whole plan's numbering).
    fn index_at(&self, plan: &Plan, base_t: u64, base_n: u64, t: u64) -> u64 {
        if t >= base_t {
            base_n + plan.count_between(base_t, t)
        } else {
            plan.count_between(0, t)
        }
    }

    /// Records what a probe's scrape found.
    pub fn probed(&mut self, scrape: crate::targets::http::scrape::Scrape) {
        if let (Some(log), Some(rates)) = (
            self.probes.get_mut(scrape.probe),
            self.probe_rates.get(scrape.probe),
        ) {
            log.record(scrape.at_ns, scrape.result, rates);
        }
    }

    /// From `from_ns` on, arrivals come from `plan` (an accepted reload).
    pub fn follow(&mut self, plan: Arc<Plan>, from_ns: u64) {
        self.schedule.push((plan, from_ns));
    }

    /// Arrivals planned in [a, b) by the versions in force then.
    fn planned_between(&self, a: u64, b: u64) -> u64 {
        if let Some(sh) = self.shard {
            // A sharded run is never reloaded: one version of the plan.
            let plan = &self.schedule[0].0;
            let lo = self.index_at(plan, sh.base_t, sh.base_n, a);
            let hi = self.index_at(plan, sh.base_t, sh.base_n, b.max(a));
            return sh.owned_below(hi) - sh.owned_below(lo);
        }
        let mut n = 0;
        for (i, (plan, from)) in self.schedule.iter().enumerate() {
            let until = self.schedule.get(i + 1).map_or(u64::MAX, |(_, next)| *next);
            let (lo, hi) = (a.max(*from), b.min(until));
            if lo < hi {
                n += plan.count_between(lo, hi);
            }
        }
        n
    }

    /// Arrivals planned before `now` (seconds closed, and the open part up to `now`).
    pub fn planned_until(&self, now: u64) -> u64 {
        let closed = self.first_open * SECOND;
        self.run.counts.planned + self.planned_between(closed, now.max(closed))
    }

    /// Arrivals planned before `now` even when seconds after it have closed already (a
    /// stopped run closes every second of its plan, and counts their arrivals as planned).
    pub fn planned_before(&self, now: u64) -> u64 {
        let closed = self.first_open * SECOND;
        if now < closed {
            return self
                .run
                .counts
                .planned
                .saturating_sub(self.planned_between(now, closed));
        }
        self.planned_until(now)
    }

    /// An arrival of request `request` was drawn from the plan.
    pub fn drawn(&mut self, request: u16) {
        if let Some(r) = self.requests.get_mut(request as usize) {
            r.counts.planned += 1;
        }
    }

    pub fn record(&mut self, f: &Finished) {
        self.run.record(f);
        if let Some(r) = self.requests.get_mut(f.request as usize) {
            r.record(f);
        }
        // Phases are contiguous and in time order.
        let p = self
            .phase_windows
            .partition_point(|&(_, end)| end <= f.planned_ns);
        if self
            .phase_windows
            .get(p)
            .is_some_and(|&(start, _)| start <= f.planned_ns)
            && let Some(a) = self.phases.open_mut(p)
        {
            a.record(f);
        }
        for (i, &(start, end)) in self.windows.iter().enumerate() {
            if f.planned_ns >= start
                && f.planned_ns < end
                && let Some(a) = self.failures.open_mut(i)
            {
                a.record(f);
            }
        }
        let second = (f.planned_ns / SECOND).max(self.first_open);
        let at = (second - self.first_open) as usize;
        while self.open.len() <= at {
            let t = self.first_open + self.open.len() as u64;
            let latency = self.pool.pop().unwrap_or_else(|| Tally::new(MAX_US));
            self.open.push_back(OpenSecond {
                counts: Second {
                    t,
                    ..Second::default()
                },
                latency,
            });
        }
        let s = &mut self.open[at];
        s.counts.counts.record(f.outcome);
        s.counts.degraded += f.degraded as u64;
        if matches!(f.outcome, Outcome::Ok | Outcome::Error | Outcome::Timeout) {
            s.latency
                .record(((f.done_ns - f.planned_ns) / 1_000).max(1));
        }
    }

    /// Sets the arrivals the plan holds in the closing second `s` (`planned`), and adds them
    /// to every scope the second overlaps.
    fn count_planned(&mut self, s: &mut Second, planned: u64) {
        let (a, b) = (s.t * SECOND, (s.t + 1) * SECOND);
        s.counts.planned = planned;
        self.run.counts.planned += s.counts.planned;
        if s.counts.planned == 0 {
            return;
        }
        let first = self.phase_windows.partition_point(|&(_, end)| end <= a);
        for i in first..self.phase_windows.len() {
            let (start, end) = self.phase_windows[i];
            if start >= b {
                break;
            }
            let n = self.planned_between(a.max(start), b.min(end));
            if let Some(agg) = self.phases.open_mut(i) {
                agg.counts.planned += n;
            }
        }
        for i in 0..self.windows.len() {
            let (start, end) = self.windows[i];
            if start < b && end > a {
                let n = self.planned_between(a.max(start), b.min(end));
                if let Some(agg) = self.failures.open_mut(i) {
                    agg.counts.planned += n;
                }
            }
        }
    }

    /// Follows the plan a reload made (see `plan::splice`): its phases and failure windows,
    /// each carrying on the measurements of the one it continues (`*_from`).
    pub fn retime(
        &mut self,
        plan: &Plan,
        phase_from: &[Option<usize>],
        failure_from: &[Option<usize>],
    ) {
        fn carry(old: &mut Scopes, from: &[Option<usize>], sigfig: u8) -> Scopes {
            let aggs = from
                .iter()
                .map(|i| {
                    i.and_then(|i| old.take(i))
                        .unwrap_or_else(|| Aggregate::new(sigfig))
                })
                .collect();
            Scopes::from_vec(aggs, sigfig)
        }
        for w in rolling_lengths(plan) {
            if !self.rolling.iter().any(|r| r.seconds == w) {
                self.rolling.push(Rolling::new(w));
            }
        }
        self.phases = carry(&mut self.phases, phase_from, 3);
        self.phase_windows = plan.phases.iter().map(|p| (p.start_ns, p.end_ns)).collect();
        self.failures = carry(&mut self.failures, failure_from, 2);
        self.windows = plan
            .failures
            .iter()
            .map(|f| (f.start_ns, f.end_ns))
            .collect();
        self.failures_by_end = by_end(plan);
        self.packed = (0, 0);
        self.pack_closed();
    }

    /// Packs the phases and failure occurrences whose every second has closed.
    fn pack_closed(&mut self) {
        let closed = self.first_open * SECOND;
        while let Some(&(_, end)) = self.phase_windows.get(self.packed.0) {
            if end > closed {
                break;
            }
            self.phases.pack(self.packed.0);
            self.packed.0 += 1;
        }
        while let Some(&j) = self.failures_by_end.get(self.packed.1) {
            if self.windows.get(j).is_some_and(|&(_, end)| end > closed) {
                break;
            }
            self.failures.pack(j);
            self.packed.1 += 1;
        }
    }

    /// Closes every second whose transactions have all finished by `now`.
    ///
    /// A second that is over closes as soon as every transaction the plan holds in it has an
    /// outcome (most do within milliseconds of its end), and at the latest once its slowest
    /// possible transaction could have ended (`horizon`). So live figures and `abort` checks
    /// trail the clock by about a second plus the slowest transaction still in flight, not by
    /// a fixed worst case.
    pub fn advance(&mut self, now: u64) {
        loop {
            let end = (self.first_open + 1) * SECOND;
            if end > now {
                return;
            }
            let planned = self.planned_between(end - SECOND, end);
            // The open seconds run on from `first_open`: the front one is this second.
            let outcomes = self.open.front().map_or(0, |s| s.counts.counts.outcomes());
            if outcomes < planned && end + self.horizon_ns > now {
                return;
            }
            self.close_first(planned);
        }
    }

    /// The model's components over the next second of virtual time.
    pub fn components_second(&mut self, second: [crate::targets::ComponentSecond; 5]) {
        let at = slot(self.component_seconds);
        self.component_seconds += 1;
        match self.components.get_mut(at.index) {
            Some(entry) => {
                for (e, s) in entry.iter_mut().zip(&second) {
                    e.add(s);
                }
            }
            None => self.components.push(second),
        }
    }

    /// Closes every open second up to the end of the run (`end_ns`).
    pub fn finish(&mut self, end_ns: u64) {
        let last = end_ns.div_ceil(SECOND);
        while self.first_open < last || !self.open.is_empty() {
            let start = self.first_open * SECOND;
            let planned = self.planned_between(start, start + SECOND);
            self.close_first(planned);
        }
        // Calls the model's components took after the timeline's last second count in it.
        let n = self.timeline.len();
        if n > 0 && self.components.len() > n {
            let tail = self.components.split_off(n);
            let last = &mut self.components[n - 1];
            for t in &tail {
                for (l, s) in last.iter_mut().zip(t) {
                    l.add(s);
                }
            }
        }
    }

    /// Closes the first open second, which the plan holds `planned` arrivals in.
    fn close_first(&mut self, planned: u64) {
        let mut s = self.open.pop_front().unwrap_or_else(|| OpenSecond {
            counts: Second {
                t: self.first_open,
                ..Second::default()
            },
            latency: self.pool.pop().unwrap_or_else(|| Tally::new(MAX_US)),
        });
        let latency = s.latency.histogram();
        for r in &mut self.rolling {
            r.push(s.counts.t, &latency);
        }
        self.count_planned(&mut s.counts, planned);
        let at = slot(s.counts.t);
        if at.span == 1 {
            s.counts.set_percentiles(&latency);
            if let Some(kept) = &mut self.kept {
                kept.push(latency);
            }
            self.timeline.push(s.counts);
        } else {
            // A coarse entry: the second adds to it, and its percentiles come from all its
            // seconds' latencies so far.
            if self.timeline.len() <= at.index {
                self.coarse.reset();
                self.timeline.push(Second {
                    t: at.start,
                    span: 0,
                    ..Second::default()
                });
                if let Some(kept) = &mut self.kept {
                    kept.push(histogram(2));
                }
            }
            let _ = self.coarse.add(&latency);
            if let Some(h) = self.kept.as_mut().and_then(|k| k.last_mut()) {
                let _ = h.add(&latency);
            }
            if let Some(e) = self.timeline.last_mut() {
                e.span += 1;
                e.counts.add(&s.counts.counts);
                e.degraded += s.counts.degraded;
                e.set_percentiles(&self.coarse);
            }
        }
        s.latency.reset();
        self.pool.push(s.latency);
        self.first_open += 1;
        self.pack_closed();
        if let Some(sh) = &mut self.shard {
            let plan = &self.schedule[0].0;
            sh.base_n += plan.count_between(sh.base_t, sh.base_t + SECOND);
            sh.base_t += SECOND;
        }
    }

    /// The recorder of a whole run from its shards' measurements: `run`, `phases`,
    /// `failures` and `requests` added scope by scope, and the seconds (counts and latency
    /// histograms) added second by second, then closed as one run closes them, so rolling
    /// windows and per-second percentiles come from all the samples.
    pub fn merged(plan: Arc<Plan>, parts: Merged) -> Recorder {
        let mut r = Recorder::new(plan, 0);
        r.run = parts.run;
        r.phases = Scopes::from_vec(parts.phases, 3);
        r.failures = Scopes::from_vec(parts.failures, 2);
        r.requests = parts.requests;
        r.probes = parts.probes;
        for (counts, latency) in parts.seconds {
            let mut s = counts;
            s.set_percentiles(&latency);
            // Rolling windows need seconds: a coarse entry stands as one window of its own.
            for roll in &mut r.rolling {
                roll.push(s.t, &latency);
            }
            r.first_open = s.t + s.span;
            r.timeline.push(s);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answered transaction planned at `planned_us`, sent `lag_us` later, answered
    /// `service_us` after it was sent.
    fn answered(planned_us: u64, lag_us: u64, service_us: u64) -> Finished {
        Finished {
            index: 0,
            phase: 0,
            request: 0,
            planned_ns: planned_us * 1_000,
            sent_ns: (planned_us + lag_us) * 1_000,
            done_ns: (planned_us + lag_us + service_us) * 1_000,
            outcome: Outcome::Ok,
            degraded: false,
            decision: None,
            fraud: false,
            amount_usd_cents: 0,
        }
    }

    /// What each scope's histograms must hold, recorded one value at a time.
    fn eager(fs: &[Finished]) -> [Histogram<u64>; 3] {
        let (mut l, mut s, mut g) = (histogram(3), histogram(3), histogram(2));
        for f in fs {
            l.saturating_record(((f.done_ns - f.planned_ns) / 1_000).max(1));
            s.saturating_record(((f.done_ns - f.sent_ns) / 1_000).max(1));
            g.saturating_record(((f.sent_ns - f.planned_ns) / 1_000).max(1));
        }
        [l, s, g]
    }

    fn held(a: &Aggregate) -> [Histogram<u64>; 3] {
        [a.latency.clone(), a.service().clone(), a.lag().into_owned()]
    }

    /// The service times kept as the latencies until one differs, and the lags at the floor
    /// counted rather than recorded, read back as if every value had been recorded: alone,
    /// and merged in every order of (all sent on time, some sent late).
    #[test]
    fn service_times_and_lags_held_back_read_as_recorded() {
        let on_time: Vec<Finished> = (0..50).map(|i| answered(i * 10, 0, 5 + i)).collect();
        let mut late = on_time[..20].to_vec();
        late.extend((0..30).map(|i| answered(i * 7, i % 4 * 3, 40 + i)));
        for fs in [&on_time, &late] {
            let mut a = Aggregate::new(3);
            fs.iter().for_each(|f| a.record(f));
            assert_eq!(held(&a), eager(fs));
        }
        assert!(Aggregate::new(3).service.is_none());
        for (x, y) in [
            (&on_time, &late),
            (&late, &on_time),
            (&on_time, &on_time),
            (&late, &late),
        ] {
            let (mut a, mut b) = (Aggregate::new(3), Aggregate::new(3));
            x.iter().for_each(|f| a.record(f));
            y.iter().for_each(|f| b.record(f));
            a.merge(&b);
            let all: Vec<Finished> = x.iter().chain(y.iter()).copied().collect();
            assert_eq!(held(&a), eager(&all));
        }
    }

    /// The window's running sum gives, bit for bit, what merging its seconds anew gives:
    /// seconds of very different latencies, empty ones, and windows over their edges.
    #[test]
    fn rolling_windows_read_as_their_seconds_merged_anew() {
        let mut rng = crate::rng::stream(4, crate::rng::Purpose::Transactions, 0);
        let seconds: Vec<Histogram<u64>> = (0..400u64)
            .map(|t| {
                let mut h = histogram(2);
                let n = if t % 37 < 5 { 0 } else { 1 + rng.below(40) };
                let scale = if (100..130).contains(&t) { 15.0 } else { 9.0 };
                for _ in 0..n {
                    h.saturating_record((rng.unit() * scale).exp() as u64 + 1);
                }
                h
            })
            .collect();
        for w in [1, 7, 60] {
            let mut rolling = Rolling::new(w);
            for (t, h) in seconds.iter().enumerate() {
                rolling.push(t as u64, h);
            }
            let mut fresh = Rolling::new(w);
            let mut expected = Vec::new();
            for end in (w as usize - 1)..seconds.len() {
                let mut all = histogram(2);
                for h in &seconds[end + 1 - w as usize..=end] {
                    all.add(h).unwrap();
                }
                if all.is_empty() {
                    continue;
                }
                // One second holding the whole window gives the window's figures.
                fresh.ring.clear();
                fresh.sum = histogram(2);
                fresh.seconds = 1;
                fresh.push(end as u64, &all);
                expected.append(&mut fresh.windows);
            }
            assert_eq!(rolling.windows.len(), expected.len(), "window {w}");
            for (got, want) in rolling.windows.iter().zip(&expected) {
                let bits = |v: &[f64; 8]| v.map(f64::to_bits);
                assert_eq!((got.first, got.last), (want.first, want.last), "window {w}");
                assert_eq!(
                    bits(&got.high),
                    bits(&want.high),
                    "window {w} at {}",
                    got.last
                );
                assert_eq!(
                    bits(&got.low),
                    bits(&want.low),
                    "window {w} at {}",
                    got.last
                );
            }
        }
    }

    #[test]
    fn the_timeline_layout_tiles_time_and_stays_bounded() {
        // Entries tile the seconds: each starts where the one before ended, one second each
        // up to FULL_RESOLUTION_S, then doubling at every doubling of the run's length.
        let mut expected = Slot {
            index: 0,
            start: 0,
            span: 1,
        };
        let last = 366 * 24 * 3600;
        let mut t = 0;
        while t < last {
            let at = slot(t);
            assert_eq!(at, expected, "second {t}");
            assert_eq!(slot_at(at.index), at);
            assert_eq!(slot(t + at.span - 1), at, "an entry holds all its seconds");
            let next = t + at.span;
            expected = Slot {
                index: at.index + 1,
                start: next,
                span: slot(next).span,
            };
            assert!(
                expected.span == at.span || expected.span == 2 * at.span.max(2),
                "at {next}: {} after {}",
                expected.span,
                at.span
            );
            t = next;
        }
        assert_eq!(slot(FULL_RESOLUTION_S - 1).span, 1);
        assert_eq!(slot(FULL_RESOLUTION_S).span, 4);
        assert_eq!(slot(2 * FULL_RESOLUTION_S).span, 8);
        // The longest run a scenario may ask for keeps under 16,000 entries.
        assert!(slot(last).index < 16_000, "{}", slot(last).index);
    }
}
