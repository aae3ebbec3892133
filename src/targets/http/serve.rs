//! `gauntlet serve`: the fraud pipeline as a real HTTP service in real time, so the http path,
//! its faults and its probes can be tried on one machine.
//!
//! `POST /score` takes a transaction as gauntlet sends it through the same five components as
//! the model (gateway -> feature-store -> ml-scorer + rules-engine -> decision), each a pool of
//! workers behind a bounded queue with a lognormal service time. A component's work runs on
//! its own task: a caller that gives up (its timeout) does not cancel it, as in a real service,
//! so a slow component's queue fills. The decision step calls the feature store, the scorer and
//! the rules through circuit breakers; an answer made without one of them is `degraded`.
//! Failures aimed at a component reach it in the `x-gauntlet-fault` header (see
//! `fault_header`). `GET /metrics` exposes each component's queue, in-flight calls,
//! utilisation, calls by outcome and breaker state in OpenMetrics text; `GET /health` answers
//! `{"status":"ok"}`. Service times and scores are drawn from the seed and the transaction
//! number, so the same request gets the same answer.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::fault_header::{FAULT_HEADER, Fault, Kind};
use crate::rng::{self, Purpose};
use crate::scenario::model::COMPONENTS;
use crate::targets::Decision;
use crate::targets::simulated::breaker::{Breaker, Permit};
use crate::targets::simulated::scorer;
use crate::workload::Indicators;

/// A component's size: workers, queue, service time (median and p99) and how long its caller
/// waits for it.
#[derive(Clone, Copy, Debug)]
pub struct Sizing {
    pub workers: usize,
    pub queue: usize,
    pub median_ms: f64,
    pub p99_ms: f64,
    pub timeout_ms: u64,
}

/// Each component's size, in pipeline order (gateway, feature-store, ml-scorer, rules-engine,
/// decision): the model's service times, with pools sized for one machine (the scorer holds
/// about 2,000 scores a second). docs/http.md lists them.
pub const SIZING: [Sizing; 5] = [
    Sizing {
        workers: 512,
        queue: 4096,
        median_ms: 1.0,
        p99_ms: 4.0,
        timeout_ms: 10_000,
    },
    Sizing {
        workers: 128,
        queue: 1024,
        median_ms: 3.0,
        p99_ms: 12.0,
        timeout_ms: 200,
    },
    Sizing {
        workers: 64,
        queue: 4096,
        median_ms: 25.0,
        p99_ms: 90.0,
        timeout_ms: 1000,
    },
    Sizing {
        workers: 64,
        queue: 1024,
        median_ms: 0.8,
        p99_ms: 3.0,
        timeout_ms: 50,
    },
    Sizing {
        workers: 64,
        queue: 1024,
        median_ms: 0.5,
        p99_ms: 2.0,
        timeout_ms: 100,
    },
];

const GATEWAY: usize = 0;
const FEATURES: usize = 1;
const SCORER: usize = 2;
const RULES: usize = 3;
const DECISION: usize = 4;

#[derive(Deserialize)]
struct Transaction {
    #[serde(default)]
    index: u64,
    amount_usd_cents: u64,
    indicators: Indicators,
}

/// How a call to a component ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Ok,
    /// Failed at once (an injected error or crash).
    Error,
    /// The caller stopped waiting.
    Timeout,
    /// The queue was full, or the component throttled the call.
    Rejected,
}

const OUTCOMES: [(&str, usize); 4] = [("ok", 0), ("error", 1), ("timeout", 2), ("rejected", 3)];

/// One component: its workers, what waits for them, and what its calls came to.
struct Stage {
    sizing: Sizing,
    workers: Arc<Semaphore>,
    waiting: AtomicUsize,
    busy: AtomicUsize,
    /// Calls by outcome, in `OUTCOMES` order.
    calls: [AtomicU64; 4],
    /// (second, calls in it) for throttling.
    throttle: Mutex<(u64, u64)>,
    breaker: Mutex<Breaker>,
}

struct State {
    seed: u64,
    started: Instant,
    stages: [Arc<Stage>; 5],
    /// Answers to `/score` by status class.
    answers: [AtomicU64; 3],
}

impl State {
    fn new(seed: u64) -> Arc<State> {
        let stage = |sizing: Sizing| {
            Arc::new(Stage {
                sizing,
                workers: Arc::new(Semaphore::new(sizing.workers)),
                waiting: AtomicUsize::new(0),
                busy: AtomicUsize::new(0),
                calls: Default::default(),
                throttle: Mutex::new((u64::MAX, 0)),
                breaker: Mutex::new(Breaker::default()),
            })
        };
        Arc::new(State {
            seed,
            started: Instant::now(),
            stages: SIZING.map(stage),
            answers: Default::default(),
        })
    }

    fn now_ns(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }
}

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

/// A call to stage `i` for transaction `index` under `faults`: queued for a worker, served,
/// waited for at most the stage's timeout. The work goes on when the caller stops waiting.
async fn call(state: &Arc<State>, i: usize, index: u64, faults: &[Fault]) -> Call {
    let stage = state.stages[i].clone();
    let fault = faults
        .iter()
        .find(|f| f.component == COMPONENTS[i])
        .map(|f| f.kind);
    let outcome = |c: Call| {
        stage.calls[c as usize].fetch_add(1, Ordering::Relaxed);
        c
    };
    match fault {
        Some(Kind::Crash | Kind::Errors) => return outcome(Call::Error),
        Some(Kind::Throttle { limit }) => {
            let second = state.now_ns() / 1_000_000_000;
            let over = stage.throttle.lock().map(|mut t| {
                if t.0 != second {
                    *t = (second, 0);
                }
                t.1 += 1;
                t.1 > limit
            });
            if over.unwrap_or(false) {
                return outcome(Call::Rejected);
            }
        }
        _ => {}
    }
    if stage.waiting.load(Ordering::Relaxed) >= stage.sizing.queue {
        return outcome(Call::Rejected);
    }
    let mut d = rng::stream_at(state.seed, Purpose::ModelNoise, 1 + i as u64, index);
    let mut service_ms = d.lognormal(stage.sizing.median_ms, stage.sizing.p99_ms);
    let timeout = Duration::from_millis(stage.sizing.timeout_ms);
    let mut answers = true;
    match fault {
        Some(Kind::Latency { delay_ms }) => service_ms += delay_ms,
        Some(Kind::Slowdown { factor }) => service_ms *= factor,
        // Held past the caller's patience, occupying the worker.
        Some(Kind::Hang) => service_ms = timeout.as_secs_f64() * 1000.0 + 1.0,
        Some(Kind::PacketLoss) => answers = false,
        _ => {}
    }
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let worker = stage.clone();
    worker.waiting.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(async move {
        let permit = worker.workers.clone().acquire_owned().await;
        worker.waiting.fetch_sub(1, Ordering::Relaxed);
        worker.busy.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs_f64(service_ms / 1000.0)).await;
        worker.busy.fetch_sub(1, Ordering::Relaxed);
        drop(permit);
        if answers {
            let _ = done_tx.send(());
        }
    });
    match tokio::time::timeout(timeout, done_rx).await {
        Ok(Ok(())) => outcome(Call::Ok),
        _ => outcome(Call::Timeout),
    }
}

/// A call to a dependency of the decision step, through its breaker.
async fn guarded(state: &Arc<State>, i: usize, index: u64, faults: &[Fault]) -> bool {
    let breaker = |f: &dyn Fn(&mut Breaker) -> Permit| {
        state.stages[i]
            .breaker
            .lock()
            .map(|mut b| f(&mut b))
            .unwrap_or(Permit::Call)
    };
    let permit = breaker(&|b| b.permit(state.now_ns()));
    if permit == Permit::Denied {
        return false;
    }
    let ok = call(state, i, index, faults).await == Call::Ok;
    breaker(&|b| {
        b.record(state.now_ns(), permit, ok);
        permit
    });
    ok
}

/// The pipeline for one transaction: the answer's status and body.
async fn score(state: &Arc<State>, tx: &Transaction, faults: &[Fault]) -> (StatusCode, String) {
    let index = tx.index;
    let unavailable = |why: &str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "error": why }).to_string(),
        )
    };
    if call(state, GATEWAY, index, faults).await != Call::Ok {
        return unavailable("gateway: overloaded or failing");
    }
    let features = guarded(state, FEATURES, index, faults).await;
    let scored = async {
        if features {
            guarded(state, SCORER, index, faults).await
        } else {
            false
        }
    };
    let (scored, ruled) = tokio::join!(scored, guarded(state, RULES, index, faults));
    if !scored && !ruled {
        return unavailable("neither the scorer nor the rules answered");
    }
    if call(state, DECISION, index, faults).await != Call::Ok {
        return unavailable("decision: failing");
    }
    let mut d = rng::stream_at(state.seed, Purpose::ModelNoise, 1, index);
    let p = scorer::score(&tx.indicators, tx.amount_usd_cents, d.normal());
    let decision = match (scored, ruled) {
        (true, true) => scorer::combine(p, Some(scorer::rules_on(&tx.indicators))),
        (true, false) => scorer::combine(p, None),
        (false, _) => scorer::rules_on(&tx.indicators),
    };
    let name = match decision {
        Decision::Approve => "approve",
        Decision::Review => "review",
        Decision::Block => "block",
        Decision::Unread => "unread",
    };
    let answer = serde_json::json!({
        "decision": name,
        "score": if scored { Some((p * 10_000.0).round() / 10_000.0) } else { None },
        "degraded": !(features && scored && ruled),
        "index": index,
    });
    (StatusCode::OK, answer.to_string())
}

/// `/metrics` in OpenMetrics text.
fn metrics(state: &State) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, value: &dyn Fn(&Stage) -> String| {
        let _ = writeln!(out, "# TYPE {name} {kind}");
        let _ = writeln!(out, "# HELP {name} {help}");
        for (c, stage) in COMPONENTS.iter().zip(&state.stages) {
            let _ = write!(out, "{}", value(stage).replace("{c}", c));
        }
    };
    let gauge = |metric: &'static str, f: fn(&Stage) -> f64| {
        move |s: &Stage| format!("{metric}{{component=\"{{c}}\"}} {}\n", f(s))
    };
    family(
        "gauntlet_component_queue",
        "gauge",
        "Calls waiting for a worker.",
        &gauge("gauntlet_component_queue", |s| {
            s.waiting.load(Ordering::Relaxed) as f64
        }),
    );
    family(
        "gauntlet_component_in_flight",
        "gauge",
        "Calls being served.",
        &gauge("gauntlet_component_in_flight", |s| {
            s.busy.load(Ordering::Relaxed) as f64
        }),
    );
    family(
        "gauntlet_component_workers",
        "gauge",
        "Workers (the most calls served at once).",
        &gauge("gauntlet_component_workers", |s| s.sizing.workers as f64),
    );
    family(
        "gauntlet_component_utilisation",
        "gauge",
        "Share of the workers busy.",
        &gauge("gauntlet_component_utilisation", |s| {
            s.busy.load(Ordering::Relaxed) as f64 / s.sizing.workers as f64
        }),
    );
    family(
        "gauntlet_component_calls",
        "counter",
        "Calls by outcome: ok, error (failed at once), timeout (the caller gave up), rejected (queue full or throttled).",
        &|s: &Stage| {
            OUTCOMES
                .iter()
                .map(|(name, k)| {
                    format!(
                        "gauntlet_component_calls_total{{component=\"{{c}}\",outcome=\"{name}\"}} {}\n",
                        s.calls[*k].load(Ordering::Relaxed)
                    )
                })
                .collect()
        },
    );
    family(
        "gauntlet_component_breaker",
        "stateset",
        "The circuit breaker the decision step calls the component through.",
        &|s: &Stage| {
            let now = s.breaker.lock().map(|b| b.state_name()).unwrap_or("closed");
            ["closed", "half-open", "open"]
                .iter()
                .map(|st| {
                    format!(
                        "gauntlet_component_breaker{{component=\"{{c}}\",gauntlet_component_breaker=\"{st}\"}} {}\n",
                        u8::from(*st == now)
                    )
                })
                .collect()
        },
    );
    let _ = writeln!(out, "# TYPE gauntlet_serve_answers counter");
    let _ = writeln!(
        out,
        "# HELP gauntlet_serve_answers Answers to POST /score by status."
    );
    for (class, n) in ["2xx", "4xx", "5xx"].iter().zip(&state.answers) {
        let _ = writeln!(
            out,
            "gauntlet_serve_answers_total{{status=\"{class}\"}} {}",
            n.load(Ordering::Relaxed)
        );
    }
    out.push_str("# EOF\n");
    out
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/health") => Ok(json(StatusCode::OK, "{\"status\":\"ok\"}".into())),
        (&Method::GET, "/metrics") => {
            let mut r = Response::new(Full::new(Bytes::from(metrics(&state))));
            r.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            Ok(r)
        }
        (&Method::POST, "/score") => {
            let faults = req
                .headers()
                .get(FAULT_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(Fault::parse_all)
                .unwrap_or_default();
            let Ok(body) = Limited::new(req.into_body(), 1 << 20)
                .collect()
                .await
                .map(|c| c.to_bytes())
            else {
                state.answers[1].fetch_add(1, Ordering::Relaxed);
                return Ok(json(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "{\"error\":\"body over 1 MiB\"}".into(),
                ));
            };
            let tx: Transaction = match serde_json::from_slice(&body) {
                Ok(tx) => tx,
                Err(e) => {
                    state.answers[1].fetch_add(1, Ordering::Relaxed);
                    let msg =
                        serde_json::json!({ "error": format!("not a gauntlet transaction: {e}") });
                    return Ok(json(StatusCode::BAD_REQUEST, msg.to_string()));
                }
            };
            let (status, body) = score(&state, &tx, &faults).await;
            let class = if status.is_success() { 0 } else { 2 };
            state.answers[class].fetch_add(1, Ordering::Relaxed);
            Ok(json(status, body))
        }
        _ => Ok(json(
            StatusCode::NOT_FOUND,
            "{\"error\":\"try POST /score, GET /metrics or GET /health\"}".into(),
        )),
    }
}

/// Binds `listen`; the returned listener is then served by `run`.
pub async fn bind(listen: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(listen).await
}

/// Serves until the process ends.
pub async fn run(listener: TcpListener, seed: u64) {
    let state = State::new(seed);
    super::serve_connections(listener, move |req| handle(state.clone(), req)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{Selector, read};

    fn state() -> Arc<State> {
        State::new(1)
    }

    #[test]
    fn metrics_name_every_component_and_a_probe_reads_them() {
        let s = state();
        s.stages[SCORER].waiting.store(17, Ordering::Relaxed);
        s.stages[SCORER].calls[2].store(3, Ordering::Relaxed);
        let text = metrics(&s);
        assert!(text.ends_with("# EOF\n"));
        let q = Selector::parse(r#"gauntlet_component_queue{component="ml-scorer"}"#).unwrap();
        let all = Selector::parse("gauntlet_component_queue").unwrap();
        let t = Selector::parse(
            r#"gauntlet_component_calls_total{component="ml-scorer",outcome="timeout"}"#,
        )
        .unwrap();
        let open = Selector::parse(
            r#"gauntlet_component_breaker{component="feature-store",gauntlet_component_breaker="closed"}"#,
        )
        .unwrap();
        assert_eq!(
            read(&text, &[&q, &all, &t, &open]),
            vec![Some(17.0), Some(17.0), Some(3.0), Some(1.0)]
        );
        for c in COMPONENTS {
            assert!(text.contains(&format!("gauntlet_component_workers{{component=\"{c}\"}}")));
        }
    }

    #[tokio::test]
    async fn an_error_in_the_scorer_degrades_the_answer_and_one_in_both_fails_it() {
        let s = state();
        let sent = crate::workload::Generator::new(1, &Default::default()).transaction(7);
        let tx: Transaction = serde_json::from_value(serde_json::to_value(sent).unwrap()).unwrap();
        let f = |list: &str| Fault::parse_all(list);
        let (status, body) = score(&s, &tx, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("\"degraded\":false"), "{body}");
        let (status, body) = score(&s, &tx, &f("ml-scorer:errors")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("\"degraded\":true"), "{body}");
        let (status, _) = score(&s, &tx, &f("ml-scorer:crash, rules-engine:errors")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let (status, _) = score(&s, &tx, &f("ml-scorer:hang")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            s.stages[SCORER].calls[Call::Timeout as usize].load(Ordering::Relaxed),
            1
        );
    }
}
