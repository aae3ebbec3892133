//! Sending transactions: a pool of at most `connections` keep-alive connections, HTTP/1.1 or
//! HTTP/2, over plain TCP or TLS.
//!
//! HTTP/1.1: a request waits for a free connection (that wait is part of its latency, as it
//! would be for any client), opens one if fewer than the limit exist, and returns it to the
//! pool once its answer is read in full. HTTP/2: `connections` connections are opened as
//! needed and requests are spread over them in turn, multiplexed up to the server's stream
//! limit (hyper holds a request until a stream is free). Answers are read up to `MAX_BODY`
//! bytes; a bigger one is an error.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::{http1, http2};
use hyper::{Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use super::tls;
use crate::targets::ErrorKind;

/// The largest answer read; more is counted as an error (`too-large`).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// A full answer.
pub struct Answer {
    pub status: StatusCode,
    pub content_type: Option<hyper::header::HeaderValue>,
    /// `x-gauntlet-upstream-error`, when present.
    pub upstream_error: Option<hyper::header::HeaderValue>,
    pub body: Bytes,
}

/// How connections are made: TLS or not, HTTP/1.1 or HTTP/2.
#[derive(Clone, Default)]
pub struct Transport {
    pub tls: Option<tls::Setup>,
    pub http2: bool,
    /// `host:port` of the service, for HTTP/2's `:authority`.
    pub authority: String,
}

/// A connection's byte stream.
enum Io {
    Plain(TcpStream),
    /// With the TLS failure its reads and writes met, if any (see `Failure`).
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>, Failure),
    /// HTTP/2 over cleartext (prior knowledge), with whether its first answer has been read
    /// yet: a service that does not speak HTTP/2 answers the preface in HTTP/1.x, which
    /// HTTP/2 only reports as a broken connection, so it is caught here (`BadResponse`).
    H2c(TcpStream, Failure, bool),
}

/// The TLS failure a connection's stream met (an alert, say), kept where the stream returns
/// it: HTTP/2 passes I/O errors on to its streams as text, without rustls's error, and a
/// request may only hear that the connection closed.
type Failure = Arc<OnceLock<ErrorKind>>;

/// Keeps the TLS failure in `r`, if it is one, in `failure`.
fn noted<T>(failure: &Failure, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
    if let Poll::Ready(Err(e)) = &r
        && let Some(kind) = io_tls_kind(e)
    {
        let _ = failure.set(kind);
    }
    r
}

/// A cleartext HTTP/2 connection that ended before its service said a word: it closed or
/// broke instead of answering the preface, as a service that does not speak HTTP/2 may. The
/// requests on it stay `reset`; the pool says what may be wrong (see `Pool::send2`).
fn unanswered(failure: &Failure) {
    let _ = failure.set(ErrorKind::Reset);
}

/// Notes a write that failed before the service's first answer (`unanswered`).
fn early<T>(failure: &Failure, read: bool, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
    if !read && matches!(r, Poll::Ready(Err(_))) {
        unanswered(failure);
    }
    r
}

impl Io {
    /// Where the stream keeps its TLS failure (a fresh, unshared one for plain TCP).
    fn failure(&self) -> Failure {
        match self {
            Io::Plain(_) => Failure::default(),
            Io::Tls(_, f) | Io::H2c(_, f, _) => f.clone(),
        }
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s, f) => noted(f, Pin::new(s.as_mut()).poll_read(cx, buf)),
            Io::H2c(s, f, read) => {
                let before = buf.filled().len();
                let r = Pin::new(s).poll_read(cx, buf);
                if *read {
                    return r;
                }
                match (&r, buf.filled().get(before)) {
                    // An HTTP/2 service starts with a SETTINGS frame, whose first byte (the
                    // top of a 24-bit length) is 0; an HTTP/1.x one with "HTTP/".
                    (_, Some(b'H')) => {
                        let _ = f.set(ErrorKind::BadResponse);
                        let e = io::Error::new(io::ErrorKind::InvalidData, "an HTTP/1.x answer");
                        return Poll::Ready(Err(e));
                    }
                    (_, Some(_)) => *read = true,
                    (Poll::Ready(_), None) => unanswered(f),
                    (Poll::Pending, None) => {}
                }
                r
            }
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::H2c(s, f, read) => early(f, *read, Pin::new(s).poll_write(cx, buf)),
            Io::Tls(s, f) => noted(f, Pin::new(s.as_mut()).poll_write(cx, buf)),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Io::H2c(s, f, read) => early(f, *read, Pin::new(s).poll_write_vectored(cx, bufs)),
            Io::Tls(s, f) => noted(f, Pin::new(s.as_mut()).poll_write_vectored(cx, bufs)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Io::Plain(s) | Io::H2c(s, ..) => s.is_write_vectored(),
            Io::Tls(s, _) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) | Io::H2c(s, ..) => Pin::new(s).poll_flush(cx),
            Io::Tls(s, f) => noted(f, Pin::new(s.as_mut()).poll_flush(cx)),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) | Io::H2c(s, ..) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s, f) => noted(f, Pin::new(s.as_mut()).poll_shutdown(cx)),
        }
    }
}

pub struct Pool {
    addr: SocketAddr,
    transport: Transport,
    /// HTTP/1.1: idle connections, and a permit per connection that may exist.
    idle: Mutex<Vec<Conn>>,
    permits: Semaphore,
    /// HTTP/2: one slot per connection, opened when first needed or after it closed.
    slots: Vec<tokio::sync::Mutex<Option<H2>>>,
    next: AtomicUsize,
    /// The first TLS failure (or a service not speaking HTTP/2) was said on stderr.
    told: AtomicBool,
}

impl Pool {
    /// A plain HTTP/1.1 pool (the generator to the fault proxy, `serve`'s tests).
    pub fn new(addr: SocketAddr, connections: u32) -> Pool {
        Pool::with(addr, connections, Transport::default())
    }

    pub fn with(addr: SocketAddr, connections: u32, transport: Transport) -> Pool {
        let slots = if transport.http2 {
            (0..connections.max(1))
                .map(|_| tokio::sync::Mutex::new(None))
                .collect()
        } else {
            Vec::new()
        };
        Pool {
            addr,
            transport,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(connections as usize),
            slots,
            next: AtomicUsize::new(0),
            told: AtomicBool::new(false),
        }
    }

    /// Whether the pool speaks HTTP/2.
    pub fn http2(&self) -> bool {
        self.transport.http2
    }

    /// Opens a connection: TCP, then TLS when asked. The first TLS failure is said on stderr
    /// with what to do about it; every one is counted by kind.
    async fn open(&self) -> Result<Io, ErrorKind> {
        let stream = TcpStream::connect(self.addr)
            .await
            .map_err(|e| match e.kind() {
                io::ErrorKind::ConnectionRefused => ErrorKind::Refused,
                _ => ErrorKind::Reset,
            })?;
        let _ = stream.set_nodelay(true);
        let Some(setup) = &self.transport.tls else {
            if self.transport.http2 {
                return Ok(Io::H2c(stream, Failure::default(), false));
            }
            return Ok(Io::Plain(stream));
        };
        let tls = setup
            .connector
            .connect(setup.server_name.clone(), stream)
            .await
            .map_err(|e| {
                let (kind, why) = tls::classify(&e);
                self.tell(&why);
                kind
            })?;
        if self.transport.http2 && tls.get_ref().1.alpn_protocol() != Some(b"h2") {
            self.tell("the service did not agree to HTTP/2 (ALPN h2); leave http = \"2\" out");
            return Err(ErrorKind::TlsHandshake);
        }
        Ok(Io::Tls(Box::new(tls), Failure::default()))
    }

    fn tell(&self, why: &str) {
        self.say(&format!(
            "TLS to {} ({}): {why}",
            self.transport.authority, self.addr
        ));
    }

    /// The service as the scenario names it, and its address when that says more.
    fn service(&self) -> String {
        let addr = self.addr.to_string();
        if self.transport.authority == addr {
            addr
        } else {
            format!("{} ({addr})", self.transport.authority)
        }
    }

    /// Says `what` on stderr, as an error, the first time the pool has something to say.
    fn say(&self, what: &str) {
        if !self.told.swap(true, Ordering::Relaxed) {
            eprintln!("error: {what}");
        }
    }

    /// Opens an HTTP/1.1 connection that the caller drives itself (`Conn`): no task of its
    /// own, so a request and its connection's input and output wake one task, not two.
    pub async fn open1(&self) -> Result<Conn, ErrorKind> {
        let io = self.open().await?;
        let (sender, driver) = http1::handshake(TokioIo::new(io))
            .await
            .map_err(|_| ErrorKind::Reset)?;
        Ok(Conn {
            sender,
            driver: Some(Box::pin(driver)),
            ended: None,
        })
    }

    async fn connect2(&self) -> Result<H2, ErrorKind> {
        let io = self.open().await?;
        let failure = io.failure();
        let (sender, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(io))
            .await
            .map_err(|e| {
                if e.is_parse() {
                    ErrorKind::BadResponse
                } else {
                    ErrorKind::Reset
                }
            })?;
        tokio::spawn(async move {
            // Ends when the connection closes; its errors reach the requests on it.
            let _ = conn.await;
        });
        Ok(H2 { sender, failure })
    }

    /// Sends `req` and reads the whole answer.
    pub async fn send(&self, req: Request<Full<Bytes>>) -> Result<Answer, ErrorKind> {
        if self.transport.http2 {
            return self.send2(req).await;
        }
        let _permit = self.permits.acquire().await.map_err(|_| ErrorKind::Reset)?;
        let reused = self.idle.lock().map(|mut v| v.pop()).unwrap_or(None);
        let mut conn = match reused {
            Some(c) if !c.is_closed() => c,
            _ => self.open1().await?,
        };
        if conn.ready().await.is_err() {
            // The service closed it while it was idle.
            conn = self.open1().await?;
            conn.ready().await?;
        }
        let answer = conn.send(req).await?;
        if !conn.is_closed()
            && let Ok(mut idle) = self.idle.lock()
        {
            idle.push(conn);
        }
        Ok(answer)
    }

    async fn send2(&self, req: Request<Full<Bytes>>) -> Result<Answer, ErrorKind> {
        let slot = &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()];
        let H2 {
            mut sender,
            failure,
        } = {
            let mut held = slot.lock().await;
            match held.as_ref() {
                Some(h) if !h.sender.is_closed() => h.clone(),
                _ => {
                    let h = self.connect2().await?;
                    *held = Some(h.clone());
                    h
                }
            }
        };
        // A failure that says no more than "reset" takes the TLS failure the stream met.
        let explain = |e: hyper::Error| match (classify(e), failure.get()) {
            (ErrorKind::Reset, Some(ErrorKind::BadResponse)) => {
                self.say(&format!(
                    "{} answered HTTP/2 in HTTP/1.x: it does not speak HTTP/2 over cleartext \
                     (prior knowledge); leave http = \"2\" out, or use https:// where ALPN \
                     agrees on it",
                    self.service()
                ));
                ErrorKind::BadResponse
            }
            (ErrorKind::Reset, Some(ErrorKind::Reset)) => {
                self.say(&format!(
                    "{} closed an HTTP/2 connection without answering it: if it does not speak \
                     HTTP/2 over cleartext (prior knowledge), leave http = \"2\" out",
                    self.service()
                ));
                ErrorKind::Reset
            }
            (ErrorKind::Reset, Some(why)) => *why,
            (kind, _) => kind,
        };
        // HTTP/2 carries the authority in the request, not in a Host header.
        let (mut parts, body) = req.into_parts();
        let scheme = if self.transport.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        parts.uri = format!("{scheme}://{}{path}", self.transport.authority)
            .parse()
            .map_err(|_| ErrorKind::Template)?;
        parts.headers.remove(hyper::header::HOST);
        parts.headers.remove(hyper::header::CONNECTION);
        parts.version = hyper::Version::HTTP_2;
        sender.ready().await.map_err(explain)?;
        let response = sender
            .send_request(Request::from_parts(parts, body))
            .await
            .map_err(explain)?;
        read(response).await
    }
}

/// An HTTP/2 connection: its sender, and the TLS failure its stream met.
#[derive(Clone)]
struct H2 {
    sender: http2::SendRequest<Full<Bytes>>,
    failure: Failure,
}

/// A connection's input and output, polled by the task that sends on it.
type Driver = Pin<Box<http1::Connection<TokioIo<Io>, Full<Bytes>>>>;

/// An HTTP/1.1 connection driven by the task that sends on it (see `Pool::open1`).
pub struct Conn {
    sender: http1::SendRequest<Full<Bytes>>,
    /// The connection's input and output; `None` once it ended (the connection closed).
    driver: Option<Driver>,
    /// Why the connection ended, when it failed. A request it leaves unanswered only learns
    /// that the channel closed; this says why (a TLS alert read before the request was
    /// written, say).
    ended: Option<ErrorKind>,
}

impl Conn {
    /// Whether the connection can take no more requests.
    pub fn is_closed(&self) -> bool {
        self.driver.is_none() || self.sender.is_closed()
    }

    /// Waits until the connection can take a request (it fails when the service closed an
    /// idle keep-alive connection: open another then).
    pub async fn ready(&mut self) -> Result<(), ErrorKind> {
        let Conn {
            sender,
            driver,
            ended,
        } = self;
        let out = drive(driver, ended, async {
            sender.ready().await.map_err(classify)
        })
        .await;
        self.explained(out)
    }

    /// Sends `req` and reads the whole answer, driving the connection meanwhile.
    pub async fn send(&mut self, req: Request<Full<Bytes>>) -> Result<Answer, ErrorKind> {
        let Conn {
            sender,
            driver,
            ended,
        } = self;
        let exchange = async {
            let response = sender.send_request(req).await.map_err(classify)?;
            read(response).await
        };
        let out = drive(driver, ended, exchange).await;
        self.explained(out)
    }

    /// A failure that says no more than "reset" takes the reason the connection ended with.
    fn explained<T>(&self, out: Result<T, ErrorKind>) -> Result<T, ErrorKind> {
        out.map_err(|kind| match (kind, self.ended) {
            (ErrorKind::Reset, Some(why)) => why,
            _ => kind,
        })
    }
}

/// Runs `work` while polling the connection's `driver` in the same task; when the connection
/// ends, its driver is dropped, which fails a request still waiting on it, and a failure is
/// kept in `ended`.
async fn drive<T>(
    driver: &mut Option<Driver>,
    ended: &mut Option<ErrorKind>,
    work: impl Future<Output = T>,
) -> T {
    let mut work = std::pin::pin!(work);
    loop {
        let Some(d) = driver.as_mut() else {
            return work.await;
        };
        tokio::select! {
            biased;
            out = &mut work => return out,
            r = d.as_mut() => {
                *driver = None;
                if let Err(e) = r {
                    *ended = Some(classify(e));
                }
            }
        }
    }
}

/// Reads a whole answer, up to `MAX_BODY`.
async fn read(response: hyper::Response<hyper::body::Incoming>) -> Result<Answer, ErrorKind> {
    let status = response.status();
    let content_type = response.headers().get(hyper::header::CONTENT_TYPE).cloned();
    let upstream_error = response.headers().get(UPSTREAM_ERROR).cloned();
    // One frame (a small answer) is handed back as it is, without a copy.
    let body = Limited::new(response.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                ErrorKind::TooLarge
            } else {
                ErrorKind::Reset
            }
        })?
        .to_bytes();
    Ok(Answer {
        status,
        content_type,
        upstream_error,
        body,
    })
}

fn classify(e: hyper::Error) -> ErrorKind {
    if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() {
        return ErrorKind::BadResponse;
    }
    tls_kind(&e).unwrap_or(ErrorKind::Reset)
}

/// The TLS failure somewhere in `e`'s chain of causes, if any: with TLS 1.3 a service that
/// refuses the client's certificate says so after the handshake, with an alert.
fn tls_kind(e: &hyper::Error) -> Option<ErrorKind> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(err) = source {
        let kind = match err.downcast_ref::<io::Error>() {
            Some(io) => io_tls_kind(io),
            None => err.downcast_ref::<rustls::Error>().map(rustls_kind),
        };
        if kind.is_some() {
            return kind;
        }
        source = err.source();
    }
    None
}

/// The TLS failure an I/O error carries inside (its `source` skips over it), if any.
fn io_tls_kind(e: &io::Error) -> Option<ErrorKind> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .map(rustls_kind)
}

fn rustls_kind(e: &rustls::Error) -> ErrorKind {
    match e {
        rustls::Error::InvalidCertificate(_) => ErrorKind::TlsCertificate,
        _ => ErrorKind::TlsHandshake,
    }
}

/// The failure an answer's status means, if any.
pub fn status_failure(status: StatusCode) -> Option<ErrorKind> {
    match status.as_u16() {
        200..=299 => None,
        300..=399 => Some(ErrorKind::Status3xx),
        400..=499 => Some(ErrorKind::Status4xx),
        500..=599 => Some(ErrorKind::Status5xx),
        _ => Some(ErrorKind::StatusOther),
    }
}

/// The header with which gauntlet's fault proxy says that the upstream, not the proxy, failed
/// (`refused`, `reset`, `bad-response`, `too-large`, `tls-handshake`, `tls-certificate`), so
/// the client counts the kind the service caused. Only honoured on answers from the run's own
/// proxy.
pub const UPSTREAM_ERROR: &str = "x-gauntlet-upstream-error";

/// The failure the fault proxy passed through in `answer`, if any.
pub fn passed_through(answer: &Answer) -> Option<ErrorKind> {
    answer
        .upstream_error
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .and_then(ErrorKind::from_name)
}
