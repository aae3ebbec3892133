//! The live dashboard of a run (`run --dashboard`, `demo`): an HTTP server on its own thread
//! and its own single-threaded runtime, so it never takes time from the generator's
//! scheduler or the simulation. The run's observer publishes what the dashboard shows
//! ([`Board::publish`]) on the engine's thread, at most a few times a second of wall time;
//! requests read the last published state and never touch the run.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the page (self-contained: nothing is fetched from any other host) |
//! | `GET /api/live` | the live figures (JSON) |
//! | `GET /api/run` | the run's shape: phases and failure windows |
//! | `GET /api/history` | one point per closed second, for the charts |
//! | `GET /api/events` | server-sent events: `live` every second, `reload`, `control`, `failure`, `finished` |
//! | `POST /api/control` | `{"action": "pause" \| "resume" \| "stop"}` |
//! | `GET /metrics` | OpenMetrics text |
//! | `GET /report` | the HTML report, once the run is over |

pub mod view;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::engine::control::{Action, Control, ControlRecord};
use crate::engine::live::Reload;
use crate::engine::{Observer, Snapshot};
use view::{Live, Metrics, Point, State};

/// The page, embedded in the binary.
const PAGE: &str = include_str!("page.html");
/// At most this many points are kept for the charts; beyond it every other one is dropped
/// (the step doubles), so memory stays flat however long the run.
const MAX_POINTS: usize = 3_600;
/// The longest gap between two published states while the run goes on.
const PUBLISH_EVERY: Duration = Duration::from_millis(250);

type Body = BoxBody<Bytes, Infallible>;

/// The state the server reads, replaced as the run goes.
struct Inner {
    live: Option<Live>,
    shape: Bytes,
    points: Vec<Point>,
    /// Seconds between kept points.
    step: u64,
    metrics: Metrics,
    report: Option<Bytes>,
    finished: bool,
}

/// What the dashboard shows, shared by the run's observer and the server.
pub struct Board {
    control: Arc<Control>,
    inner: Mutex<Inner>,
    /// Server-sent events, already framed. An empty frame ends every stream (shutdown).
    events: broadcast::Sender<Bytes>,
    /// Event streams open now, and a wake-up when one ends: shutdown waits for them to send
    /// what they hold, so a client sees the `finished` event.
    streams: AtomicUsize,
    stream_ended: tokio::sync::Notify,
}

/// How long shutdown waits for event streams to send what they hold.
const DRAIN: Duration = Duration::from_secs(2);

/// Counts an open event stream while it lives.
struct Open(Arc<Board>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::AcqRel);
        self.0.stream_ended.notify_waiters();
    }
}

fn sse(event: &str, data: &impl Serialize) -> Bytes {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "null".into());
    Bytes::from(format!("event: {event}\ndata: {json}\n\n"))
}

impl Board {
    pub fn new(control: Arc<Control>, plan: &crate::plan::Plan) -> Arc<Board> {
        let (events, _) = broadcast::channel(256);
        Arc::new(Board {
            control,
            inner: Mutex::new(Inner {
                live: None,
                shape: Bytes::from(serde_json::to_vec(&view::shape(plan)).unwrap_or_default()),
                points: Vec::new(),
                step: 1,
                metrics: Metrics::default(),
                report: None,
                finished: false,
            }),
            events,
            streams: AtomicUsize::new(0),
            stream_ended: tokio::sync::Notify::new(),
        })
    }

    /// Ends every event stream once it has sent what it holds, waiting for them a little.
    async fn drain(&self) {
        self.send(Bytes::new());
        let deadline = tokio::time::Instant::now() + DRAIN;
        while self.streams.load(Ordering::Acquire) > 0 {
            let ended = self.stream_ended.notified();
            if self.streams.load(Ordering::Acquire) == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                break;
            }
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut guard = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    fn send(&self, frame: Bytes) {
        // No subscriber is not an error.
        let _ = self.events.send(frame);
    }

    /// Publishes the run as it stands at plan time `now`.
    fn publish(&self, run: &Snapshot<'_>, now: u64, state: State) {
        let mut live = view::live(run, now, state);
        let metrics = view::metrics(run, &live);
        let points: Vec<Point> = self.with(|inner| {
            let known = inner.points.last().map_or(0, |p| p.t + 1);
            // Entries from `known` on, once whole (a coarse one fills over many seconds).
            let timeline = &run.recorder.timeline;
            let new: Vec<Point> = timeline[timeline.partition_point(|s| s.t < known)..]
                .iter()
                .filter(|s| s.span == crate::metrics::slot(s.t).span)
                .map(view::point)
                .collect();
            for p in &new {
                if p.t.is_multiple_of(inner.step) {
                    inner.points.push(*p);
                }
            }
            if inner.points.len() > MAX_POINTS {
                inner.step *= 2;
                let step = inner.step;
                inner.points.retain(|p| p.t.is_multiple_of(step));
            }
            if let Some(last) = new.last()
                && inner.points.last().is_none_or(|p| p.t < last.t)
            {
                // Remember how far the timeline was read, even when the point is not kept.
                inner.points.push(*last);
            }
            inner.metrics = metrics;
            if let Some(prev) = &inner.live {
                live.verdict = prev.verdict.clone();
            }
            inner.live = Some(live.clone());
            new
        });
        #[derive(Serialize)]
        struct Frame<'a> {
            #[serde(flatten)]
            live: &'a Live,
            points: Vec<Point>,
        }
        self.send(sse(
            "live",
            &Frame {
                live: &live,
                points,
            },
        ));
    }

    /// The run is over: its final state, its verdict and its HTML report.
    pub fn finish(&self, run: &Snapshot<'_>, verdict: &str, report: Option<String>) {
        self.publish(run, run.end_ns, State::Finished);
        let live = self.with(|inner| {
            inner.finished = true;
            inner.report = report.map(Bytes::from);
            if let Some(live) = inner.live.as_mut() {
                live.verdict = Some(verdict.to_string());
            }
            inner.live.clone()
        });
        if let Some(live) = live {
            self.send(sse("finished", &live));
        }
    }

    fn live_json(&self) -> Option<Bytes> {
        self.with(|inner| {
            inner
                .live
                .as_ref()
                .and_then(|l| serde_json::to_vec(l).ok().map(Bytes::from))
        })
    }
}

/// The observer half: publishes every second (at most every [`PUBLISH_EVERY`] of wall time
/// for a fast run), every reload and control action, and failure windows opening and closing.
pub struct Publisher {
    board: Arc<Board>,
    last: Option<Instant>,
    /// Plan time of the last published state; none before the first.
    last_t: Option<u64>,
}

impl Publisher {
    pub fn new(board: Arc<Board>) -> Publisher {
        Publisher {
            board,
            last: None,
            last_t: None,
        }
    }

    /// Failure windows that opened or closed after `from` (from the start when none) and by
    /// `to`.
    fn failure_events(&self, run: &Snapshot<'_>, from: Option<u64>, to: u64) {
        #[derive(Serialize)]
        struct FailureEvent<'a> {
            name: &'a str,
            component: &'a str,
            kind: &'a str,
            /// `start` or `end`.
            edge: &'static str,
            at_ms: u64,
        }
        for f in &run.plan.failures {
            for (edge, at) in [("start", f.start_ns), ("end", f.end_ns)] {
                if from.is_none_or(|from| from < at) && at <= to {
                    self.board.send(sse(
                        "failure",
                        &FailureEvent {
                            name: &f.name,
                            component: &f.component,
                            kind: f.effect.kind(),
                            edge,
                            at_ms: at / 1_000_000,
                        },
                    ));
                }
            }
        }
    }

    fn state(run: &Snapshot<'_>) -> State {
        if run.paused {
            State::Paused
        } else {
            State::Running
        }
    }
}

impl Observer for Publisher {
    fn started(&mut self, run: &Snapshot<'_>) {
        self.board.publish(run, 0, State::Running);
    }

    fn second(&mut self, t: u64, run: &Snapshot<'_>) {
        // A run in real time publishes every second; a faster one every so often.
        if self.last.is_some_and(|l| l.elapsed() < PUBLISH_EVERY) {
            return;
        }
        self.failure_events(run, self.last_t, t);
        self.board.publish(run, t, Self::state(run));
        self.last = Some(Instant::now());
        self.last_t = Some(t);
    }

    fn reloaded(&mut self, reload: &Reload, run: &Snapshot<'_>) {
        if reload.accepted {
            let shape = Bytes::from(serde_json::to_vec(&view::shape(run.plan)).unwrap_or_default());
            self.board.with(|inner| inner.shape = shape);
        }
        self.board.send(sse("reload", reload));
        self.board.publish(run, run.end_ns, Self::state(run));
    }

    fn controlled(&mut self, control: &ControlRecord, run: &Snapshot<'_>) {
        self.board.send(sse("control", control));
        self.board.publish(run, run.end_ns, Self::state(run));
    }
}

/// A running dashboard server; dropping it stops serving.
pub struct Server {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Whether `addr` is reachable only from this machine.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// Binds `addr` and serves `board` on a thread of its own.
pub fn serve(addr: SocketAddr, board: Arc<Board>) -> std::io::Result<Server> {
    let std_listener = std::net::TcpListener::bind(addr)?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("dashboard".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(std_listener) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!("dashboard: cannot listen: {e}");
                        return;
                    }
                };
                let served = board.clone();
                let serving = crate::targets::http::serve_connections(listener, move |req| {
                    handle(served.clone(), req)
                });
                tokio::select! {
                    _ = serving => {}
                    _ = stopped => {}
                }
                board.drain().await;
            });
        })?;
    Ok(Server {
        addr,
        shutdown: Some(shutdown),
        thread: Some(thread),
    })
}

fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()).boxed());
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn json_error(status: StatusCode, message: &str) -> Response<Body> {
    respond(
        status,
        "application/json",
        serde_json::json!({ "error": message }).to_string(),
    )
}

const JSON: &str = "application/json";

async fn handle(board: Arc<Board>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    Ok(match (req.method(), path.as_str()) {
        (&Method::GET, "/") | (&Method::GET, "/index.html") => {
            let mut r = respond(StatusCode::OK, "text/html; charset=utf-8", PAGE);
            // Nothing but this host: the page works offline and leaks nothing.
            r.headers_mut().insert(
                "content-security-policy",
                HeaderValue::from_static(
                    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
                ),
            );
            r
        }
        (&Method::GET, "/api/live") => match board.live_json() {
            Some(body) => respond(StatusCode::OK, JSON, body),
            None => respond(
                StatusCode::OK,
                JSON,
                serde_json::json!({ "state": "starting" }).to_string(),
            ),
        },
        (&Method::GET, "/api/run") => {
            respond(StatusCode::OK, JSON, board.with(|i| i.shape.clone()))
        }
        (&Method::GET, "/api/history") => {
            let body = board.with(|i| {
                serde_json::to_vec(&serde_json::json!({ "step_s": i.step, "points": i.points }))
                    .unwrap_or_default()
            });
            respond(StatusCode::OK, JSON, body)
        }
        (&Method::GET, "/api/events") => events(&board),
        (&Method::POST, "/api/control") => control(&board, req).await,
        (&Method::GET, "/metrics") => {
            let text = board.with(|i| view::openmetrics(&i.metrics));
            respond(
                StatusCode::OK,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                text,
            )
        }
        (&Method::GET, "/report") => match board.with(|i| i.report.clone()) {
            Some(html) => respond(StatusCode::OK, "text/html; charset=utf-8", html),
            None => json_error(
                StatusCode::NOT_FOUND,
                "the report is written when the run is over",
            ),
        },
        (
            _,
            "/" | "/api/live" | "/api/run" | "/api/history" | "/api/events" | "/metrics"
            | "/report",
        ) => {
            let mut r = json_error(StatusCode::METHOD_NOT_ALLOWED, "use GET");
            r.headers_mut()
                .insert("allow", HeaderValue::from_static("GET"));
            r
        }
        (_, "/api/control") => {
            let mut r = json_error(StatusCode::METHOD_NOT_ALLOWED, "use POST");
            r.headers_mut()
                .insert("allow", HeaderValue::from_static("POST"));
            r
        }
        _ => json_error(StatusCode::NOT_FOUND, "no such page"),
    })
}

/// `POST /api/control`. Only `application/json` is taken: a page of another site cannot send
/// that without asking first (CORS), and this server never says yes, so a browser visiting
/// another site cannot steer the run.
async fn control(board: &Board, req: Request<Incoming>) -> Response<Body> {
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !is_json {
        return json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send {\"action\": \"pause\" | \"resume\" | \"stop\"} as application/json",
        );
    }
    let Ok(body) = Limited::new(req.into_body(), 4096).collect().await else {
        return json_error(StatusCode::PAYLOAD_TOO_LARGE, "the body is over 4 KiB");
    };
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Asked {
        action: String,
    }
    let asked: Asked = match serde_json::from_slice(&body.to_bytes()) {
        Ok(a) => a,
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &format!("expected {{\"action\": \"pause\" | \"resume\" | \"stop\"}}: {e}"),
            );
        }
    };
    let Some(action) = Action::parse(&asked.action) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "unknown action \"{}\"; expected pause, resume or stop",
                asked.action
            ),
        );
    };
    if board.with(|i| i.finished) {
        return json_error(StatusCode::CONFLICT, "the run is over");
    }
    board.control.ask(action);
    respond(
        StatusCode::ACCEPTED,
        JSON,
        serde_json::json!({ "action": action.name(), "accepted": true }).to_string(),
    )
}

/// `GET /api/events`: the last state at once, then every event as it comes; a comment every
/// 15 s keeps idle connections open through proxies.
fn events(board: &Arc<Board>) -> Response<Body> {
    let (mut tx, body) = http_body_util::channel::Channel::<Bytes, Infallible>::new(16);
    let mut rx = board.events.subscribe();
    let first = board.live_json();
    board.streams.fetch_add(1, Ordering::AcqRel);
    let open = Open(board.clone());
    tokio::spawn(async move {
        let _open = open;
        let mut frame = Bytes::from_static(b"retry: 2000\n\n");
        if let Some(live) = first {
            let mut f = b"retry: 2000\n\nevent: live\ndata: ".to_vec();
            f.extend_from_slice(&live);
            f.extend_from_slice(b"\n\n");
            frame = Bytes::from(f);
        }
        if tx.send_data(frame).await.is_err() {
            return;
        }
        let mut keepalive = tokio::time::interval(Duration::from_secs(15));
        keepalive.tick().await;
        loop {
            let frame = tokio::select! {
                got = rx.recv() => match got {
                    // The server is shutting down: the stream ends here.
                    Ok(frame) if frame.is_empty() => return,
                    Ok(frame) => frame,
                    // A slow reader missed some events; the next `live` one catches it up.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = keepalive.tick() => Bytes::from_static(b": keep-alive\n\n"),
            };
            if tx.send_data(frame).await.is_err() {
                return;
            }
        }
    });
    let mut r = Response::new(body.boxed());
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
