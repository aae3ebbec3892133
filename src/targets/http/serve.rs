//! `gauntlet serve`: the fraud-pipeline as a real HTTP service in real time, so the http path
//! can be tried on one machine. `POST /score` takes a transaction as gauntlet sends it and
//! answers `{"decision", "score", "degraded"}` after a lognormal service time, with a
//! concurrency limit and a bounded queue (503 past it); `GET /health` answers `{"status":"ok"}`.
//! Service times and scores are drawn from the seed and the transaction number, so the same
//! request gets the same answer.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::rng::{self, Purpose};
use crate::targets::Decision;
use crate::targets::simulated::scorer;
use crate::workload::Indicators;

/// Requests served at once.
pub const CONCURRENCY: usize = 512;
/// Requests that may wait for a slot; more are answered 503.
pub const QUEUE: usize = 4096;
/// Service time: lognormal with this median and p99.
pub const MEDIAN_MS: f64 = 20.0;
pub const P99_MS: f64 = 60.0;

#[derive(Deserialize)]
struct Incoming_ {
    #[serde(default)]
    index: u64,
    amount_usd_cents: u64,
    indicators: Indicators,
}

struct State {
    seed: u64,
    slots: Semaphore,
    waiting: AtomicUsize,
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

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/health") => Ok(json(StatusCode::OK, "{\"status\":\"ok\"}".into())),
        (&Method::POST, "/score") => {
            let Ok(body) = Limited::new(req.into_body(), 1 << 20)
                .collect()
                .await
                .map(|c| c.to_bytes())
            else {
                return Ok(json(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "{\"error\":\"body over 1 MiB\"}".into(),
                ));
            };
            let tx: Incoming_ = match serde_json::from_slice(&body) {
                Ok(tx) => tx,
                Err(e) => {
                    let msg =
                        serde_json::json!({ "error": format!("not a gauntlet transaction: {e}") });
                    return Ok(json(StatusCode::BAD_REQUEST, msg.to_string()));
                }
            };
            if state.waiting.fetch_add(1, Ordering::SeqCst) >= QUEUE + CONCURRENCY {
                state.waiting.fetch_sub(1, Ordering::SeqCst);
                return Ok(json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "{\"error\":\"overloaded\"}".into(),
                ));
            }
            let permit = state.slots.acquire().await;
            let mut d = rng::stream_at(state.seed, Purpose::ModelNoise, 1, tx.index);
            let service = d.lognormal(MEDIAN_MS, P99_MS);
            tokio::time::sleep(Duration::from_secs_f64(service / 1000.0)).await;
            drop(permit);
            state.waiting.fetch_sub(1, Ordering::SeqCst);
            let p = scorer::score(&tx.indicators, tx.amount_usd_cents, d.normal());
            let decision = scorer::combine(p, Some(scorer::rules_on(&tx.indicators)));
            let name = match decision {
                Decision::Approve => "approve",
                Decision::Review => "review",
                Decision::Block => "block",
            };
            let answer = serde_json::json!({
                "decision": name,
                "score": (p * 10_000.0).round() / 10_000.0,
                "degraded": false,
                "index": tx.index,
            });
            Ok(json(StatusCode::OK, answer.to_string()))
        }
        _ => Ok(json(
            StatusCode::NOT_FOUND,
            "{\"error\":\"try POST /score or GET /health\"}".into(),
        )),
    }
}

/// Binds `listen`; the returned listener is then served by `run`.
pub async fn bind(listen: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(listen).await
}

/// Serves until the process ends.
pub async fn run(listener: TcpListener, seed: u64) {
    let state = Arc::new(State {
        seed,
        slots: Semaphore::new(CONCURRENCY),
        waiting: AtomicUsize::new(0),
    });
    super::serve_connections(listener, move |req| handle(state.clone(), req)).await;
}
