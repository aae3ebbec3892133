//! Sending transactions: a pool of at most `connections` keep-alive HTTP/1.1 connections.
//! A request waits for a free connection (that wait is part of its latency, as it would be for
//! any client), opens one if fewer than the limit exist, and returns it to the pool once its
//! answer is read in full. Answers are read up to `MAX_BODY` bytes; a bigger one is an error.

use std::net::SocketAddr;
use std::sync::Mutex;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

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

pub struct Pool {
    addr: SocketAddr,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
    permits: Semaphore,
}

impl Pool {
    pub fn new(addr: SocketAddr, connections: u32) -> Pool {
        Pool {
            addr,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(connections as usize),
        }
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, ErrorKind> {
        let stream = TcpStream::connect(self.addr)
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::ConnectionRefused => ErrorKind::Refused,
                _ => ErrorKind::Reset,
            })?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| ErrorKind::Reset)?;
        tokio::spawn(async move {
            // Ends when the connection closes; its errors reach the request that used it.
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// Sends `req` and reads the whole answer.
    pub async fn send(&self, req: Request<Full<Bytes>>) -> Result<Answer, ErrorKind> {
        let _permit = self.permits.acquire().await.map_err(|_| ErrorKind::Reset)?;
        let reused = self.idle.lock().map(|mut v| v.pop()).unwrap_or(None);
        let mut sender = match reused {
            Some(s) if !s.is_closed() => s,
            _ => self.connect().await?,
        };
        if sender.ready().await.is_err() {
            sender = self.connect().await?;
        }
        let response = sender.send_request(req).await.map_err(classify)?;
        let status = response.status();
        let content_type = response.headers().get(hyper::header::CONTENT_TYPE).cloned();
        let upstream_error = response.headers().get(UPSTREAM_ERROR).cloned();
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
        if !sender.is_closed()
            && let Ok(mut idle) = self.idle.lock()
        {
            idle.push(sender);
        }
        Ok(Answer {
            status,
            content_type,
            upstream_error,
            body,
        })
    }
}

fn classify(e: hyper::Error) -> ErrorKind {
    if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() {
        ErrorKind::BadResponse
    } else {
        ErrorKind::Reset
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
/// (`refused`, `reset`, `bad-response`, `too-large`), so the client counts the kind the service
/// caused. Only honoured on answers from the run's own proxy.
pub const UPSTREAM_ERROR: &str = "x-gauntlet-upstream-error";

/// The failure the fault proxy passed through in `answer`, if any.
pub fn passed_through(answer: &Answer) -> Option<ErrorKind> {
    answer
        .upstream_error
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .and_then(ErrorKind::from_name)
}
