//! gauntlet's fault proxy: an HTTP/1.1 proxy on loopback between the generator and the
//! upstream service, switching the plan's failures on and off on its schedule. Which requests a
//! probabilistic failure hits is decided from the seed, the failure and the transaction number
//! the generator puts in the `x-gauntlet-tx` header, so the same requests are hit on every run.
//! Failure windows are judged on each request's planned instant (`x-gauntlet-planned`), so the
//! same transactions fall in a window on every run. Outside failure windows a request is
//! forwarded as it is.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::client::{MAX_BODY, Pool, Transport, UPSTREAM_ERROR};
use super::fault_header::{FAULT_HEADER, Fault};
use crate::plan::PlannedFailure;
use crate::rng::{self, Purpose};
use crate::scenario::model::Effect;
use crate::targets::PlanClock;

/// The header carrying the transaction number.
pub const TX_HEADER: &str = "x-gauntlet-tx";
/// The header carrying the transaction's planned instant (ns of plan time): failure windows
/// are judged on it, so which transactions a failure hits depends only on the seed, the
/// failure and the transaction, never on how late a request reached the proxy.
pub const PLANNED_HEADER: &str = "x-gauntlet-planned";
/// The component name of failures the proxy applies itself.
pub const UPSTREAM: &str = "upstream";

type Body = BoxBody<Bytes, Infallible>;

struct State {
    upstream: Pool,
    faults: RwLock<Arc<Faults>>,
    seed: u64,
    /// The run's plan clock: failure windows are in plan time, which stands still while the
    /// run is paused.
    clock: Arc<PlanClock>,
    /// How long a hung or lost request is held: past the client's timeout.
    hold: Duration,
}

/// The failures the proxy injects.
struct Faults {
    list: Vec<PlannedFailure>,
    /// Per fault: (second, calls in it), for throttling.
    throttles: Vec<Mutex<(u64, u64)>>,
}

impl Faults {
    fn new(list: Vec<PlannedFailure>) -> Arc<Faults> {
        let throttles = list.iter().map(|_| Mutex::new((u64::MAX, 0))).collect();
        Arc::new(Faults { list, throttles })
    }
}

/// A running proxy; dropping it stops accepting connections.
pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Replaces the failures (a reload): requests from now on follow the new list; those
    /// already held or delayed keep their fate.
    pub fn set_failures(&self, faults: Vec<PlannedFailure>) {
        if let Ok(mut f) = self.state.faults.write() {
            *f = Faults::new(faults);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The closed connection a crash or a lost packet looks like to the client.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by a scheduled failure")
    }
}

impl std::error::Error for Dropped {}

/// Starts the proxy on 127.0.0.1 (an ephemeral port) in front of `upstream`, which it reaches
/// over `transport` (TLS and HTTP/2 as the scenario asks). Failure windows
/// are read on `clock`, the run's plan clock.
pub async fn start(
    upstream: SocketAddr,
    connections: u32,
    transport: Transport,
    faults: Vec<PlannedFailure>,
    seed: u64,
    clock: Arc<PlanClock>,
    hold: Duration,
) -> std::io::Result<Proxy> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(State {
        upstream: Pool::with(upstream, connections, transport),
        faults: RwLock::new(Faults::new(faults)),
        seed,
        clock,
        hold,
    });
    let shared = state.clone();
    let task = tokio::spawn(super::serve_connections(listener, move |req| {
        handle(shared.clone(), req)
    }));
    Ok(Proxy { addr, state, task })
}

fn full(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())).boxed());
    *r.status_mut() = status;
    r
}

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, Dropped> {
    let index: u64 = req
        .headers()
        .get(TX_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let now = req
        .headers()
        .get(PLANNED_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| state.clock.now());
    let mut delay_ns: f64 = 0.0;
    let mut slowdown = 1.0;
    let mut bandwidth: Option<u64> = None;
    let faults = match state.faults.read() {
        Ok(f) => f.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    // Failures aimed at a component inside the service travel in a header for it to apply.
    let mut inside: Vec<String> = Vec::new();
    for (i, f) in faults.list.iter().enumerate() {
        if now < f.start_ns || now >= f.end_ns || !f.hits(state.seed, index) {
            continue;
        }
        if f.component != UPSTREAM {
            let delay_ms = latency_ns(f, state.seed, index) / 1e6;
            inside.extend(Fault::of(&f.component, &f.effect, delay_ms).map(|x| x.encode()));
            continue;
        }
        match f.effect {
            Effect::Crash => return Err(Dropped),
            Effect::Errors { status } => {
                let code = StatusCode::from_u16(status.unwrap_or(503))
                    .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                return Ok(full(code, "{\"error\":\"injected by gauntlet\"}"));
            }
            Effect::Throttle { limit } => {
                let second = now / 1_000_000_000;
                let over = faults.throttles[i].lock().map(|mut t| {
                    if t.0 != second {
                        *t = (second, 0);
                    }
                    t.1 += 1;
                    t.1 > limit
                });
                if over.unwrap_or(false) {
                    return Ok(full(
                        StatusCode::TOO_MANY_REQUESTS,
                        "{\"error\":\"throttled by gauntlet\"}",
                    ));
                }
            }
            Effect::Hang | Effect::PacketLoss => {
                // Held past the client's timeout, then dropped: the client times out.
                tokio::time::sleep(state.hold).await;
                return Err(Dropped);
            }
            Effect::Latency { .. } => delay_ns += latency_ns(f, state.seed, index),
            Effect::Slowdown { factor } => slowdown *= factor,
            Effect::Bandwidth { bytes_per_second } => {
                bandwidth =
                    Some(bandwidth.map_or(bytes_per_second, |b: u64| b.min(bytes_per_second)));
            }
        }
    }
    if delay_ns > 0.0 {
        tokio::time::sleep(Duration::from_nanos(delay_ns as u64)).await;
    }

    let mut forward = match forwarded(req).await {
        Ok(f) => f,
        Err(answer) => return Ok(answer),
    };
    if !inside.is_empty()
        && let Ok(v) = hyper::header::HeaderValue::from_str(&inside.join(", "))
    {
        forward.headers_mut().insert(FAULT_HEADER, v);
    }
    let sent = Instant::now();
    // An upstream that refuses, resets, garbles or answers too much is passed on by name, so
    // the client counts the kind the service caused, not what the proxy made of it.
    let answer = match state.upstream.send(forward).await {
        Ok(a) => a,
        Err(kind) => {
            let mut r = full(StatusCode::BAD_GATEWAY, "{\"error\":\"upstream failed\"}");
            r.headers_mut().insert(
                UPSTREAM_ERROR,
                hyper::header::HeaderValue::from_static(kind.name()),
            );
            return Ok(r);
        }
    };
    if slowdown > 1.0 {
        let took = sent.elapsed();
        tokio::time::sleep(took.mul_f64(slowdown - 1.0)).await;
    }
    let mut response = Response::builder().status(answer.status);
    if let Some(ct) = answer.content_type {
        response = response.header(hyper::header::CONTENT_TYPE, ct);
    }
    let body: Body = match bandwidth {
        None => Full::new(answer.body).boxed(),
        Some(bps) => trickle(answer.body, bps.max(1)),
    };
    Ok(response
        .body(body)
        .unwrap_or_else(|_| full(StatusCode::BAD_GATEWAY, "")))
}

/// The delay a latency failure gives request `index`: `delay ± jitter`, the jitter drawn from
/// the fault-decision stream past the words `hits` uses. 0 for other kinds.
fn latency_ns(f: &PlannedFailure, seed: u64, index: u64) -> f64 {
    let Effect::Latency { delay, jitter } = f.effect else {
        return 0.0;
    };
    let spread = jitter.as_nanos() as f64;
    let mut d = rng::stream_at(
        seed,
        Purpose::Faults,
        1_000_000 + f.source_index as u64,
        index,
    );
    (delay.as_nanos() as f64 + d.uniform(-spread, spread)).max(0.0)
}

/// The request to send upstream: the same method, path, headers (less hop-by-hop ones) and
/// body; or the answer to give when the request cannot be forwarded.
async fn forwarded(req: Request<Incoming>) -> Result<Request<Full<Bytes>>, Response<Body>> {
    let (parts, body) = req.into_parts();
    let Ok(body) = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map(|c| c.to_bytes())
    else {
        return Err(full(
            StatusCode::PAYLOAD_TOO_LARGE,
            "{\"error\":\"request too large\"}",
        ));
    };
    let mut forward = Request::builder().method(parts.method).uri(parts.uri);
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            forward = forward.header(name, value);
        }
    }
    forward
        .body(Full::new(body))
        .map_err(|_| full(StatusCode::BAD_REQUEST, "{\"error\":\"bad request\"}"))
}

/// A body sent at `bps` bytes per second, in ten chunks a second.
fn trickle(body: Bytes, bps: u64) -> Body {
    let (mut tx, rx) = http_body_util::channel::Channel::<Bytes, Infallible>::new(4);
    let chunk = ((bps / 10).max(1)) as usize;
    tokio::spawn(async move {
        let mut rest = body;
        while !rest.is_empty() {
            let n = chunk.min(rest.len());
            let piece = rest.split_to(n);
            tokio::time::sleep(Duration::from_secs_f64(n as f64 / bps as f64)).await;
            if tx.send_data(piece).await.is_err() {
                return;
            }
        }
    });
    rx.boxed()
}
