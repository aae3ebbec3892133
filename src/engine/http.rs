//! Driving a plan against a real HTTP service, in real time, as an open model: every arrival
//! is sent at its planned time whatever the service does (wrk2's discipline). Latency counts
//! from the planned time, so a stalled service cannot hide behind a waiting generator; the
//! generator's own lag (send minus planned) is recorded. The scheduler never relies on a fine
//! timer: it runs on its own thread, sleeps with the OS's timer until the next send is due,
//! and whenever it wakes hands every arrival that is due, in one batch, to the connections'
//! workers (HTTP/1.1: a task per connection that drives its connection itself, so a request
//! costs no task of its own; HTTP/2: a task per request, multiplexed). Each is measured from
//! its own planned time. Arrivals beyond `max_in_flight` are `dropped`; when the run stops
//! early, what is in flight and what was not sent are `cancelled`. Nothing is lost.

use crate::template_error::explain;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::growth::Workers;
use std::time::{Duration, Instant};

use std::collections::VecDeque;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Request};
use tokio::sync::{mpsc, watch};

use super::control::Control;
use super::live::{Edits, Live};
use super::{Observer, Outcome as RunOutcome, close_second, steer};
use crate::metrics::Recorder;
use crate::plan::{Arrival, Plan};
use crate::scenario::model::{Body, DecisionMap, Expect, HttpVersion, Target};
use crate::targets::http::client::{Answer, Conn, Pool, Transport, passed_through, status_failure};
use crate::targets::http::proxy::{self, PLANNED_HEADER, TX_HEADER};
use crate::targets::http::scrape::{Scrape, Scraper};
use crate::targets::http::tls;
use crate::targets::http::{CheckFailure, Decisions, Endpoint, TargetError, Vars, check};
use crate::targets::{
    CheckCounts, Decision, ErrorCounts, ErrorKind, Finished, Outcome, PlanClock, TargetReport,
};

const SECOND: u64 = 1_000_000_000;
/// The shortest sleep of the scheduler: arrivals due within it go out together.
const MIN_SLEEP_NS: u64 = 500_000;
/// How often answers are collected while no send is due.
const COLLECT_NS: u64 = 5_000_000;

/// How requests are built, resolved once before the run.
pub struct Prepared {
    pub endpoint: Endpoint,
    /// TLS and the HTTP version to the service.
    pub transport: Transport,
    /// One per request of the mix (one for a target without `[[target.request]]`).
    requests: Vec<PreparedRequest>,
    timeout: Duration,
    connections: u32,
    max_in_flight: u64,
    /// The plan's probes, ready to scrape.
    probes: Vec<Scraper>,
}

/// What a request's body holds.
enum Content {
    /// The transaction as JSON.
    Transaction,
    /// The body template, rendered with `tx`.
    Template(Box<minijinja::Environment<'static>>),
    /// Nothing: no body.
    None,
}

/// One request of the mix, ready to send.
struct PreparedRequest {
    method: Method,
    /// The path and query sent (origin-form), parsed once.
    uri: hyper::Uri,
    /// Every header, built once; `x-gauntlet-tx` and (unless the scenario sets it)
    /// `content-length` hold placeholders, replaced per request, so a clone has their room.
    /// The proxy's planned time is added per request.
    headers: hyper::HeaderMap,
    /// Whether gauntlet sets `content-length` (the scenario does not).
    sets_length: bool,
    content: Content,
    decision: Option<Decisions>,
    expect: Option<Expect>,
}

/// Checks everything that can fail before the first request: the URL, environment
/// variables (from `vars`), TLS files, the body templates (each rendered once for
/// transaction 0).
pub fn prepare(plan: &Plan, vars: &Vars) -> Result<Prepared, TargetError> {
    let Target::Http {
        url,
        method,
        headers,
        body,
        timeout,
        connections,
        max_in_flight,
        decision,
        http,
        tls,
        expect,
        requests,
    } = &plan.target
    else {
        return Err(TargetError::Template("not an http target".into()));
    };
    let expanded_url = vars.expand(url, "url")?;
    let endpoint = Endpoint::parse(&expanded_url)?;
    let tls = match tls {
        Some(t) => {
            let path = |p: &Option<String>, what: &str| {
                p.as_ref()
                    .map(|p| vars.expand(p, &format!("tls {what}")))
                    .transpose()
            };
            Some(crate::scenario::model::Tls {
                ca: path(&t.ca, "ca")?,
                cert: path(&t.cert, "cert")?,
                key: path(&t.key, "key")?,
                ..t.clone()
            })
        }
        None => None,
    };
    let http2 = *http == HttpVersion::Http2;
    let tls_settings = tls.clone();
    let tls = match (endpoint.tls, &tls) {
        (true, tls) => Some(tls::setup(
            &tls.clone().unwrap_or_default(),
            &endpoint.host,
            &plan.base_dir,
            http2,
        )?),
        (false, Some(_)) => {
            return Err(TargetError::Tls(
                "[target.tls] is for https:// URLs; this one is http://".into(),
            ));
        }
        (false, None) => None,
    };
    let transport = Transport {
        tls,
        http2,
        authority: endpoint.authority.clone(),
    };
    let base = RequestParts {
        method,
        path: endpoint.path.clone(),
        headers: headers.clone(),
        body: body.as_ref(),
        decision: decision.clone(),
        expect: expect.clone(),
    };
    let mut prepared = Vec::new();
    if requests.is_empty() {
        prepared.push(prepare_request(plan, vars, &endpoint, &base, "[target]")?);
    }
    for r in requests {
        let place = format!("[[target.request]] \"{}\"", r.name);
        let path = match (&r.url, &r.path) {
            (Some(own), _) => {
                let e = Endpoint::parse(&vars.expand(own, &format!("{place} url"))?)?;
                if (e.tls, &e.host, e.port) != (endpoint.tls, &endpoint.host, endpoint.port) {
                    return Err(TargetError::Url(
                        own.clone(),
                        "a request's own url must be on the target's scheme, host and port",
                    ));
                }
                e.path
            }
            (None, Some(p)) => join(&endpoint.path, p),
            (None, None) => endpoint.path.clone(),
        };
        let mut merged = headers.clone();
        merged.extend(r.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        let parts = RequestParts {
            method: r.method.as_ref().unwrap_or(method),
            path,
            headers: merged,
            body: r.body.as_ref().or(body.as_ref()),
            decision: r.decision.clone().or_else(|| decision.clone()),
            expect: r.expect.clone().or_else(|| expect.clone()),
        };
        prepared.push(prepare_request(plan, vars, &endpoint, &parts, &place)?);
    }
    let probes = plan
        .probes
        .iter()
        .enumerate()
        .map(|(i, p)| prepare_probe(plan, vars, i, p, tls_settings.as_ref()))
        .collect::<Result<_, _>>()?;
    Ok(Prepared {
        endpoint,
        transport,
        requests: prepared,
        timeout: Duration::from_nanos(
            timeout
                .unwrap_or(crate::units::Duration::from_secs(5))
                .as_nanos(),
        ),
        connections: *connections,
        max_in_flight: *max_in_flight,
        probes,
    })
}

/// A probe with its URL expanded and its connection settings: an https probe trusts what the
/// target trusts (`[target.tls]`), and speaks HTTP/1.1.
fn prepare_probe(
    plan: &Plan,
    vars: &Vars,
    index: usize,
    p: &crate::plan::PlannedProbe,
    target_tls: Option<&crate::scenario::model::Tls>,
) -> Result<Scraper, TargetError> {
    let url = vars.expand(&p.url, &format!("[[probe]] \"{}\" url", p.name))?;
    let endpoint = Endpoint::parse(&url)?;
    let tls = if endpoint.tls {
        let settings = crate::scenario::model::Tls {
            server_name: None,
            ..target_tls.cloned().unwrap_or_default()
        };
        Some(tls::setup(
            &settings,
            &endpoint.host,
            &plan.base_dir,
            false,
        )?)
    } else {
        None
    };
    Ok(Scraper {
        probe: index,
        transport: Transport {
            tls,
            http2: false,
            authority: endpoint.authority.clone(),
        },
        endpoint,
        every: Duration::from_nanos(p.every_ns),
        timeout: Duration::from_nanos(p.timeout_ns),
        selectors: p.series.iter().map(|s| s.selector.clone()).collect(),
    })
}

/// A request's settings, the target's where the request does not say.
struct RequestParts<'a> {
    method: &'a String,
    path: String,
    headers: std::collections::BTreeMap<String, String>,
    /// None: the method's default (`Body::or_default_for`).
    body: Option<&'a Body>,
    decision: Option<DecisionMap>,
    expect: Option<Expect>,
}

/// `path` appended to the target URL's path: `/v1` + `/score` is `/v1/score`; a query on the
/// base is kept after the joined path.
pub(crate) fn join(base: &str, path: &str) -> String {
    let (base_path, base_query) = base
        .split_once('?')
        .map_or((base, None), |(p, q)| (p, Some(q)));
    let mut out = base_path.trim_end_matches('/').to_string();
    if !path.starts_with('/') && !path.starts_with('?') {
        out.push('/');
    }
    out.push_str(path);
    if out.is_empty() {
        out.push('/');
    }
    if let Some(q) = base_query {
        out.push(if out.contains('?') { '&' } else { '?' });
        out.push_str(q);
    }
    out
}

fn prepare_request(
    plan: &Plan,
    vars: &Vars,
    endpoint: &Endpoint,
    parts: &RequestParts<'_>,
    place: &str,
) -> Result<PreparedRequest, TargetError> {
    let method = Method::from_bytes(parts.method.as_bytes()).map_err(|_| {
        TargetError::Template(format!("{place}: invalid method \"{}\"", parts.method))
    })?;
    let mut list = Vec::new();
    let mut has_content_type = false;
    for (name, value) in &parts.headers {
        let value = vars.expand(value, &format!("header {name}"))?;
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| TargetError::Template(format!("\"{name}\" is not a valid header name")))?;
        let value = HeaderValue::from_str(&value).map_err(|_| {
            TargetError::Template(format!("the value of header {name} is not valid in HTTP"))
        })?;
        has_content_type |= name == hyper::header::CONTENT_TYPE;
        list.push((name, value));
    }
    let body = Body::or_default_for(parts.body, method.as_str());
    if !has_content_type && body != Body::None {
        list.push((
            hyper::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ));
    }
    list.push((
        hyper::header::USER_AGENT,
        HeaderValue::from_static(concat!("gauntlet/", env!("CARGO_PKG_VERSION"))),
    ));
    let host = HeaderValue::from_str(&endpoint.authority)
        .map_err(|_| TargetError::Template(format!("{place}: invalid host")))?;
    list.push((hyper::header::HOST, host));
    let content = match &body {
        Body::Transaction => Content::Transaction,
        Body::None => Content::None,
        Body::Template(path) => {
            let full = plan.base_dir.join(path);
            let source = std::fs::read_to_string(&full).map_err(|e| {
                TargetError::Template(format!(
                    "cannot read the body template {}: {e}",
                    full.display()
                ))
            })?;
            let mut env = minijinja::Environment::new();
            env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
            let shown = full.display().to_string();
            let null = serde_json::Value::Null;
            env.add_template_owned("body", source.clone())
                .map_err(|e| TargetError::Template(explain(&e, &shown, Some(&source), &null)))?;
            // Rendered once with transaction 0, so a mistake shows before the run starts.
            let tx = serde_json::to_value(plan.transaction(0)).unwrap_or_default();
            let probe = env
                .get_template("body")
                .and_then(|t| t.render(minijinja::context! { tx => minijinja::value::Serde(&tx) }));
            if let Err(e) = probe {
                let ctx = serde_json::json!({ "tx": tx });
                return Err(TargetError::Template(explain(
                    &e,
                    &shown,
                    Some(&source),
                    &ctx,
                )));
            }
            Content::Template(Box::new(env))
        }
    };
    let uri = parts
        .path
        .parse::<hyper::Uri>()
        .map_err(|_| TargetError::Template(format!("{place}: invalid path \"{}\"", parts.path)))?;
    let mut headers = hyper::HeaderMap::with_capacity(list.len() + 2);
    for (name, value) in list {
        headers.append(name, value);
    }
    let placeholder = HeaderValue::from_static("0");
    headers.insert(HeaderName::from_static(TX_HEADER), placeholder.clone());
    let sets_length = !headers.contains_key(hyper::header::CONTENT_LENGTH);
    if sets_length {
        headers.insert(hyper::header::CONTENT_LENGTH, placeholder);
    }
    Ok(PreparedRequest {
        method,
        uri,
        headers,
        sets_length,
        content,
        decision: parts.decision.as_ref().map(Decisions::new),
        expect: parts.expect.clone(),
    })
}

struct Shared {
    prepared: Prepared,
    pool: Pool,
    clock: Arc<PlanClock>,
    /// Requests go through the run's own fault proxy, whose pass-through header is honoured.
    via_proxy: bool,
}

struct Done {
    finished: Finished,
    failure: Option<ErrorKind>,
    /// Why the answer failed its `expect` (the failure is then `check`).
    check: Option<CheckFailure>,
}

/// An arrival handed to the connection workers, with the version of the plan it follows.
struct Job {
    a: Arrival,
    plan: Arc<Plan>,
    /// When it was queued, in plan time.
    queued: u64,
}

/// Arrivals due and not yet taken by a connection (HTTP/1.1): the scheduler adds what is due
/// in one batch, and each connection's worker takes the oldest when it is free. The wait here
/// is a wait for a free connection, part of the latency as for any client.
#[derive(Default)]
struct Queue {
    jobs: std::sync::Mutex<VecDeque<Job>>,
    ready: tokio::sync::Notify,
    /// Workers waiting for a job, or woken for one and not yet running.
    idle: std::sync::atomic::AtomicUsize,
    /// Jobs pushed whose workers are not woken yet (see `announce`).
    unannounced: std::sync::atomic::AtomicUsize,
    /// Wakes `announce`.
    pushed: tokio::sync::Notify,
}

impl Queue {
    fn jobs(&self) -> std::sync::MutexGuard<'_, VecDeque<Job>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `batch` (emptied) and wakes `announce`, once for the whole batch.
    fn push(&self, batch: &mut Vec<Job>) {
        let n = batch.len();
        if n == 0 {
            return;
        }
        self.jobs().extend(batch.drain(..));
        self.unannounced.fetch_add(n, Ordering::Release);
        self.pushed.notify_one();
    }

    /// Runs on the runtime for the run's life, waking a worker per job pushed: the one that
    /// went idle last, so a light load keeps to a few warm connections rather than cycling
    /// through all of them. Woken from the runtime's own thread, a worker is queued locally;
    /// woken from the scheduler's thread, each could wake the runtime's thread again (one
    /// write to its event fd and a context switch each, several per batch).
    async fn announce(self: Arc<Self>) {
        loop {
            self.pushed.notified().await;
            for _ in 0..self.unannounced.swap(0, Ordering::Acquire) {
                self.ready.notify_last();
            }
        }
    }

    /// How many of the oldest jobs were queued at or before `before`, counting up to `most`.
    fn waiting_since(&self, before: u64, most: usize) -> usize {
        self.jobs()
            .iter()
            .take(most)
            .take_while(|j| j.queued <= before)
            .count()
    }

    /// Every job not taken yet.
    fn drain(&self) -> Vec<Job> {
        self.jobs().drain(..).collect()
    }

    /// The oldest job, waiting for one.
    async fn take(&self) -> Job {
        loop {
            // Registered before the queue is looked at, so a push in between still wakes us.
            let ready = self.ready.notified();
            let mut ready = std::pin::pin!(ready);
            ready.as_mut().enable();
            if let Some(job) = self.jobs().pop_front() {
                return job;
            }
            self.idle.fetch_add(1, Ordering::Relaxed);
            ready.await;
            self.idle.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Shared {
    /// The request of the mix an arrival sends (the first when the plan holds more than
    /// were prepared, which `prepare` rules out).
    fn spec(&self, request: u16) -> &PreparedRequest {
        let all = &self.prepared.requests;
        all.get(request as usize).unwrap_or(&all[0])
    }

    /// The request for the attempt's transaction. Its body is written into `buf` (kept from
    /// one request to the next, so it seldom grows), followed by the digits of the header
    /// values that change per request; the whole is copied out once and the body and those
    /// values are slices of that one copy (two allocations a request, not one per value).
    fn request(
        &self,
        spec: &PreparedRequest,
        at: &Attempt,
        buf: &mut Vec<u8>,
    ) -> Result<Request<Full<Bytes>>, ErrorKind> {
        let (tx, index, planned_ns) = (&at.tx, at.a.index, at.a.at_ns);
        buf.clear();
        match &spec.content {
            Content::None => {}
            Content::Transaction => tx.write_json(buf),
            Content::Template(env) => buf.extend_from_slice(
                env.get_template("body")
                    .and_then(|t| {
                        t.render(minijinja::context! { tx => minijinja::value::Serde(tx) })
                    })
                    .map_err(|_| ErrorKind::Template)?
                    .as_bytes(),
            ),
        }
        let body_len = buf.len();
        let mut digits = |n: u64| {
            let from = buf.len();
            buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            from..buf.len()
        };
        let index_at = digits(index);
        // As hyper would set it: on a body that is not empty, unless the scenario sets it.
        let length_at = (body_len > 0 && spec.sets_length).then(|| digits(body_len as u64));
        let planned_at = self.via_proxy.then(|| digits(planned_ns));
        let all = Bytes::copy_from_slice(buf);
        // Digits are valid in a header value.
        let value = |at: std::ops::Range<usize>| {
            HeaderValue::from_maybe_shared(all.slice(at)).map_err(|_| ErrorKind::Template)
        };
        let mut headers = spec.headers.clone();
        if let Some(v) = headers.get_mut(TX_HEADER) {
            *v = value(index_at)?;
        }
        match length_at {
            Some(at) => {
                if let Some(v) = headers.get_mut(hyper::header::CONTENT_LENGTH) {
                    *v = value(at)?;
                }
            }
            // An empty body: no content-length, as hyper would send it.
            None if spec.sets_length => {
                headers.remove(hyper::header::CONTENT_LENGTH);
            }
            None => {}
        }
        if let Some(at) = planned_at {
            headers.append(HeaderName::from_static(PLANNED_HEADER), value(at)?);
        }
        let mut req = Request::new(Full::new(all.slice(..body_len)));
        *req.method_mut() = spec.method.clone();
        *req.uri_mut() = spec.uri.clone();
        *req.headers_mut() = headers;
        Ok(req)
    }

    /// What an answer (or the failure to get one) means for the attempt, done at plan time
    /// `done`: the proxy's word on what the service did comes first; then the scenario's
    /// `expect`; then the status.
    fn conclude(
        &self,
        spec: &PreparedRequest,
        result: Result<Answer, ErrorKind>,
        at: &Attempt,
        done: u64,
    ) -> Done {
        let finished = |outcome, decision, degraded| at.finished(done, outcome, decision, degraded);
        let failed = |kind, check| Done {
            finished: finished(Outcome::Error, None, false),
            failure: Some(kind),
            check,
        };
        let answer = match result {
            Ok(a) => a,
            Err(kind) => return failed(kind, None),
        };
        let passed = self.via_proxy.then(|| passed_through(&answer)).flatten();
        let checked = match &spec.expect {
            Some(e) => check(e, answer.status.as_u16(), &answer.body),
            None => Ok(false),
        };
        match (passed, checked) {
            (Some(kind), _) => failed(kind, None),
            (None, Err(why)) => failed(ErrorKind::Check, Some(why)),
            (None, Ok(listed)) => {
                match (!listed).then(|| status_failure(answer.status)).flatten() {
                    Some(kind) => failed(kind, None),
                    None => {
                        let (decision, degraded) = match &spec.decision {
                            Some(d) => match d.read(&answer.body) {
                                (None, degraded) => (Some(Decision::Unread), degraded),
                                read => read,
                            },
                            None => (None, false),
                        };
                        Done {
                            finished: finished(Outcome::Ok, decision, degraded),
                            failure: None,
                            check: None,
                        }
                    }
                }
            }
        }
    }

    /// One connection's worker (HTTP/1.1): takes the oldest arrival due, sends it on its own
    /// connection (opened when first needed, and again after it closed, failed, timed out or
    /// was cancelled), and hands back what happened. Being sent counts from the moment the
    /// worker takes the arrival (its lag before that is the generator's, or the wait for a
    /// free connection); the timeout counts from there. Once the run is cancelled, what is
    /// in flight and every arrival taken after it ends `cancelled`.
    async fn work(
        self: Arc<Self>,
        queue: Arc<Queue>,
        done: mpsc::UnboundedSender<Done>,
        mut cancel: watch::Receiver<bool>,
    ) {
        let mut conn: Option<Conn> = None;
        let mut buf = Vec::new();
        let mut stopped = false;
        // One registration for the worker's life, not one per request.
        let cancelled = async move {
            let _ = cancel.wait_for(|c| *c).await;
        };
        let mut cancelled = std::pin::pin!(cancelled);
        let timer = tokio::time::sleep(Duration::ZERO);
        let mut timer = std::pin::pin!(timer);
        loop {
            let Job { a, plan, .. } = queue.take().await;
            let d = if stopped {
                // Taken after the run stopped: never sent, so no transaction is made for it.
                Done {
                    finished: Finished::unsent(&a, Outcome::Cancelled, self.clock.now()),
                    failure: None,
                    check: None,
                }
            } else {
                let at = Attempt::start(&self.clock, a, &plan);
                let spec = self.spec(at.a.request);
                match self.request(spec, &at, &mut buf) {
                    Err(kind) => at.failed(kind),
                    Ok(req) => {
                        timer
                            .as_mut()
                            .reset((at.sent_wall + self.prepared.timeout).into());
                        let exchange = async {
                            let mut c = match conn.take() {
                                Some(c) if !c.is_closed() => c,
                                _ => self.pool.open1().await?,
                            };
                            if c.ready().await.is_err() {
                                c = self.pool.open1().await?;
                                c.ready().await?;
                            }
                            let answer = c.send(req).await;
                            if !c.is_closed() {
                                conn = Some(c);
                            }
                            answer
                        };
                        tokio::select! {
                            biased;
                            r = exchange => self.conclude(spec, r, &at, at.now()),
                            _ = &mut timer => at.timed_out(self.prepared.timeout),
                            _ = &mut cancelled => {
                                stopped = true;
                                at.ended(Outcome::Cancelled, at.now())
                            }
                        }
                    }
                }
            };
            if done.send(d).is_err() {
                return;
            }
        }
    }

    /// Sends arrival `a` on a connection of the pool (HTTP/2: multiplexed, a task per request).
    async fn send(
        self: Arc<Self>,
        plan: Arc<Plan>,
        a: Arrival,
        mut cancel: watch::Receiver<bool>,
    ) -> Done {
        let at = Attempt::start(&self.clock, a, &plan);
        let spec = self.spec(at.a.request);
        let req = match self.request(spec, &at, &mut Vec::new()) {
            Ok(r) => r,
            Err(kind) => return at.failed(kind),
        };
        let result = tokio::select! {
            r = tokio::time::timeout(self.prepared.timeout, self.pool.send(req)) => r,
            _ = cancel.changed() => return at.ended(Outcome::Cancelled, at.now()),
        };
        match result {
            Err(_) => at.timed_out(self.prepared.timeout),
            Ok(r) => self.conclude(spec, r, &at, at.now()),
        }
    }
}

/// An arrival being sent: its transaction, and when it was sent, in plan time and on the wall
/// clock. Done is sent plus the wall time the answer took, so a pause while the request is in
/// flight neither hides nor adds latency.
struct Attempt {
    a: Arrival,
    tx: crate::workload::Transaction,
    sent: u64,
    sent_wall: Instant,
}

impl Attempt {
    /// Arrival `a` of `plan`, sent now.
    fn start(clock: &PlanClock, a: Arrival, plan: &Plan) -> Attempt {
        Attempt {
            tx: plan.transaction(a.index),
            a,
            sent: clock.now(),
            sent_wall: Instant::now(),
        }
    }

    /// Plan time now, measured from the send.
    fn now(&self) -> u64 {
        self.sent + self.sent_wall.elapsed().as_nanos() as u64
    }

    /// An outcome that is neither an answer nor a failure (a cancellation), at plan time `done`.
    fn ended(&self, outcome: Outcome, done: u64) -> Done {
        Done {
            finished: self.finished(done, outcome, None, false),
            failure: None,
            check: None,
        }
    }

    /// No answer within `timeout` of the send.
    fn timed_out(&self, timeout: Duration) -> Done {
        self.ended(Outcome::Timeout, self.sent + timeout.as_nanos() as u64)
    }

    /// The request could not be built (a body template failed).
    fn failed(&self, kind: ErrorKind) -> Done {
        Done {
            finished: self.finished(self.sent, Outcome::Error, None, false),
            failure: Some(kind),
            check: None,
        }
    }

    /// What became of the arrival, done at plan time `done`: sent no earlier than planned,
    /// done no earlier than sent.
    fn finished(
        &self,
        done: u64,
        outcome: Outcome,
        decision: Option<Decision>,
        degraded: bool,
    ) -> Finished {
        let a = &self.a;
        Finished {
            index: a.index,
            phase: a.phase,
            request: a.request,
            planned_ns: a.at_ns,
            sent_ns: self.sent.max(a.at_ns),
            done_ns: done.max(self.sent).max(a.at_ns),
            outcome,
            degraded,
            decision,
            fraud: self.tx.fraud,
            amount_usd_cents: self.tx.amount_usd_cents,
        }
    }
}

/// Runs `plan` against its http target (see `super::run`). The scheduler is this thread: it sleeps with the OS's
/// precise timer (not the async runtime's 1 ms wheel) until the next send is due, hands due
/// requests to `runtime`, and records what comes back. Starts the fault proxy when failures are
/// scheduled, or when `edits` may bring some.
pub(super) fn drive(
    runtime: &tokio::runtime::Runtime,
    plan: Arc<Plan>,
    prepared: Prepared,
    edits: &mut dyn Edits,
    control: &Control,
    shard: Option<super::ShardRun>,
    observer: &mut dyn Observer,
) -> Result<RunOutcome, TargetError> {
    let watched = edits.may_come();
    let horizon = prepared.timeout.as_nanos() as u64 + 2 * SECOND;
    let mut live = match shard {
        Some(s) => Live::sharded(plan.clone(), horizon, s.k, s.n),
        None => Live::new(plan.clone(), horizon),
    };
    let max_in_flight = prepared.max_in_flight;
    let connections = prepared.connections;
    let Connected {
        shared,
        proxy,
        scrapers,
    } = connect(runtime, &plan, prepared, watched, shard.map(|s| s.start))?;
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
    let (scrape_tx, mut scrape_rx) = mpsc::unbounded_channel::<Scrape>();
    // Aborted when the run ends (dropping the guard), scrapes and all.
    let _probes = AbortOnDrop(
        scrapers
            .into_iter()
            .map(|s| runtime.spawn(s.run(shared.clock.clone(), scrape_tx.clone())))
            .collect(),
    );
    let (cancel_tx, cancel_rx) = watch::channel(false);
    // HTTP/1.1: workers take arrivals from the queue, each on a connection of its own; they
    // are started as requests wait for a connection, up to `connections` (see `growth`).
    // HTTP/2 multiplexes, and sends each arrival from a task of its own.
    let queue = Arc::new(Queue::default());
    let http1 = !shared.pool.http2();
    let mut workers = AbortOnDrop(Vec::new());
    let _announce = AbortOnDrop(if http1 {
        vec![runtime.spawn(queue.clone().announce())]
    } else {
        Vec::new()
    });
    let most_workers = if http1 {
        connections.max(1) as usize
    } else {
        0
    };
    let mut batch: Vec<Job> = Vec::new();
    let mut growth = super::growth::Growth::new();
    let mut errors_by_kind = ErrorCounts::default();
    let mut in_flight: u64 = 0;
    let mut next_tick = SECOND;
    let mut stop = None;
    let handle = runtime.handle();

    let mut checks = CheckCounts::default();
    let take = |d: Done, rec: &mut Recorder, errors: &mut ErrorCounts, checks: &mut CheckCounts| {
        if let Some(kind) = d.failure {
            errors.add(kind);
        }
        if let Some(why) = d.check {
            checks.add(why);
        }
        rec.record(&d.finished);
    };

    let clock = shared.clock.clone();
    // The run stops at plan time `at`: what is in flight is cancelled by its worker or task;
    // what waits for a connection, and what was not sent, is cancelled here.
    let cancel = |at: u64, live: &mut Live, in_flight: &mut u64| {
        let _ = cancel_tx.send(true);
        for Job { a, .. } in queue.drain() {
            *in_flight -= 1;
            live.recorder
                .record(&Finished::unsent(&a, Outcome::Cancelled, at));
        }
        live.cancel_unsent(|_| at);
    };
    observer.started(&live.snapshot(0));
    loop {
        let now = clock.now();
        // While paused, plan time stands still: nothing is due and no second closes; answers
        // to what is in flight are still collected.
        if stop.is_none() && control.pending() {
            stop = steer(control, &clock, &mut live, now, observer);
            if let Some(s) = stop {
                cancel(s.at_ns(), &mut live, &mut in_flight);
            }
        }
        if stop.is_none() && !clock.paused() {
            if let Some(e) = edits.poll() {
                live.offer(now, e);
            }
            let mut send = |a: Arrival, plan: Arc<Plan>| {
                if in_flight >= max_in_flight {
                    return Some(a);
                }
                in_flight += 1;
                if http1 {
                    batch.push(Job {
                        a,
                        plan,
                        queued: now,
                    });
                    return None;
                }
                let shared = shared.clone();
                let done_tx = done_tx.clone();
                let cancel = cancel_rx.clone();
                handle.spawn(async move {
                    let d = shared.send(plan, a, cancel).await;
                    let _ = done_tx.send(d);
                });
                None
            };
            dispatch(now, &mut live, &mut send, proxy.as_ref(), observer);
            queue.push(&mut batch);
        }
        while let Ok(d) = done_rx.try_recv() {
            in_flight -= 1;
            let f = &d.finished;
            if matches!(f.outcome, Outcome::Ok | Outcome::Error | Outcome::Timeout) {
                growth.answered(now, f.done_ns.saturating_sub(f.sent_ns));
            }
            take(d, &mut live.recorder, &mut errors_by_kind, &mut checks);
        }
        let rate = live.schedule().rate_at(now);
        let g = growth.step(
            Workers {
                running: workers.0.len(),
                most: most_workers,
                idle: queue.idle.load(Ordering::Relaxed),
                in_flight,
            },
            now,
            rate,
            |before, most| queue.waiting_since(before, most),
        );
        for _ in 0..g {
            let work = shared
                .clone()
                .work(queue.clone(), done_tx.clone(), cancel_rx.clone());
            workers.0.push(runtime.spawn(work));
        }
        while let Ok(s) = scrape_rx.try_recv() {
            live.recorder.probed(s);
        }
        if stop.is_none() {
            while now >= next_tick {
                if let Some(s) = close_second(&mut live, next_tick, observer) {
                    stop = Some(s);
                    break;
                }
                next_tick += SECOND;
            }
            if let Some(s) = stop {
                cancel(s.at_ns(), &mut live, &mut in_flight);
            }
        }
        // A watched run goes on to the plan's end (through a closing pause), so a save can
        // still extend it; an unwatched one ends when nothing is left to send or await.
        let pending = stop.is_none()
            && (live.due_at().is_some() || (watched && now < live.record.duration_ns));
        if live.peek().is_none() && in_flight == 0 && !pending {
            break;
        }
        let wake = if clock.paused() {
            now + COLLECT_NS
        } else {
            wake_at(
                now,
                &live,
                stop.is_none().then_some(next_tick),
                in_flight > 0 || watched,
            )
        };
        // Never sleep less than a quantum: waking for every arrival at tens of thousands a
        // second costs more in context switches than the quantum costs in lag.
        let now = if clock.paused() { now } else { clock.now() };
        if wake > now {
            std::thread::sleep(Duration::from_nanos((wake - now).max(MIN_SLEEP_NS)));
        }
    }
    let end_ns = clock.now();
    while let Ok(s) = scrape_rx.try_recv() {
        live.recorder.probed(s);
    }
    live.recorder.finish(live.record.duration_ns);
    Ok(RunOutcome {
        live,
        stop,
        end_ns,
        target: TargetReport::Http {
            errors: errors_by_kind,
            checks,
        },
    })
}

/// Resolves the service and starts the fault proxy in front of it when failures are
/// scheduled (or may come with an edit); requests go through the proxy then. The run's clock
/// starts here.
/// The run's way to the service: the shared request state, the fault proxy when there is
/// one, and the probes to start.
struct Connected {
    shared: Arc<Shared>,
    proxy: Option<proxy::Proxy>,
    scrapers: Vec<Scraper>,
}

/// Tasks aborted when dropped.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

fn connect(
    runtime: &tokio::runtime::Runtime,
    plan: &Plan,
    mut prepared: Prepared,
    watched: bool,
    start: Option<std::time::Instant>,
) -> Result<Connected, TargetError> {
    let scrapers = std::mem::take(&mut prepared.probes);
    let upstream = runtime.block_on(prepared.endpoint.resolve())?;
    let clock = Arc::new(start.map_or_else(PlanClock::starting_now, PlanClock::starting_at));
    let proxy = if plan.failures.is_empty() && !watched {
        None
    } else {
        let hold = prepared.timeout + Duration::from_secs(1);
        let p = runtime
            .block_on(proxy::start(
                upstream,
                prepared.connections,
                prepared.transport.clone(),
                plan.failures.clone(),
                plan.seed,
                clock.clone(),
                hold,
            ))
            .map_err(|e| TargetError::Proxy(e.to_string()))?;
        tracing::info!(proxy = %p.addr, upstream = %upstream, "fault proxy listening");
        Some(p)
    };
    // Through the proxy, the generator speaks plain HTTP/1.1 on loopback and the proxy opens
    // TLS (and HTTP/2) to the service; without it, the generator does.
    let pool = match &proxy {
        Some(p) => Pool::new(p.addr, prepared.connections),
        None => Pool::with(upstream, prepared.connections, prepared.transport.clone()),
    };
    let shared = Arc::new(Shared {
        pool,
        prepared,
        clock,
        via_proxy: proxy.is_some(),
    });
    Ok(Connected {
        shared,
        proxy,
        scrapers,
    })
}

/// Sends every arrival due by `now` (`send` hands back one over the in-flight limit, which is
/// dropped), applying a reload due on the way: arrivals before its instant go out first, the
/// rest follow the new version.
fn dispatch(
    now: u64,
    live: &mut Live,
    send: &mut dyn FnMut(Arrival, Arc<Plan>) -> Option<Arrival>,
    proxy: Option<&proxy::Proxy>,
    observer: &mut dyn Observer,
) {
    loop {
        while let Some(a) = live.next_before(now + 1) {
            if let Some(a) = send(a, live.schedule().clone()) {
                live.recorder
                    .record(&Finished::unsent(&a, Outcome::Dropped, a.at_ns));
            }
        }
        if live.due_at().is_none_or(|at| at > now) {
            return;
        }
        if let Some((r, faults_changed)) = live.apply() {
            let r = r.clone();
            if faults_changed && let Some(p) = proxy {
                p.set_failures(live.record.failures.clone());
            }
            observer.reloaded(&r, &live.snapshot(now));
        }
    }
}

/// When the scheduler wakes next: the next send, reload or second (`next_tick`, none once
/// the run stopped); while answers are awaited (`collecting`), every few milliseconds (their
/// times are already measured; this only collects them).
fn wake_at(now: u64, live: &Live, next_tick: Option<u64>, collecting: bool) -> u64 {
    let mut wake = next_tick.unwrap_or(now + COLLECT_NS);
    if let Some(a) = live.peek() {
        wake = wake.min(a.at_ns);
    }
    if let Some(at) = live.due_at() {
        wake = wake.min(at);
    }
    if collecting {
        wake = wake.min(now + COLLECT_NS);
    }
    wake
}
