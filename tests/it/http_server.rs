//! A small HTTP/1.1 server for the tests, on 127.0.0.1 and an ephemeral port, written on raw
//! TCP so that it can misbehave exactly as asked. It records what it received.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Behaviour {
    /// Answers `{"verdict":{"action":"deny"|"allow"}}` from the transaction's `is_fraud`.
    Normal,
    /// Like Normal, but requests arriving in [at, at + for) after the first one are held until
    /// the stall ends.
    StallOnce { at: Duration, stall: Duration },
    /// Writes a line that is not HTTP.
    Garbage,
    /// Promises 100 bytes, sends 10 and closes.
    Truncated,
    /// Closes the connection without answering.
    Reset,
    /// Answers 5 MiB.
    Huge,
    /// Sends the headers, then one byte a second.
    SlowBody,
    /// Answers 503.
    Unavailable,
    /// Answers with this status (and an empty JSON body).
    Status(u16),
    /// Answers 200 with this body.
    Body(&'static str),
    /// Answers 503 to requests for this path, normally to the rest.
    FailPath(&'static str),
    /// Answers normally after a fixed delay.
    Delay(Duration),
    /// Answers normally until `after` since the first request, then stops: closes everything
    /// and refuses connections.
    DiesAfter(Duration),
    /// Sends a status line and headers promising a body, then closes.
    CloseAfterHeaders,
    /// Answers with chunked encoding whose chunks never end.
    EndlessChunks,
    /// Accepts connections and never reads from them (nor answers).
    NeverReads,
    /// Promises and streams a 100 MB body.
    Body100MB,
}

#[derive(Default)]
pub struct Seen {
    pub requests: u64,
    /// Requests by method and path (`POST /score`).
    pub paths: std::collections::BTreeMap<String, u64>,
    /// When each request arrived.
    pub arrived: Vec<Instant>,
    /// The `x-gauntlet-tx` number of every request that carried one.
    pub tx_numbers: Vec<u64>,
    pub headers: Vec<String>,
    /// (`x-gauntlet-tx`, `x-gauntlet-fault`) of every request that carried a fault header.
    pub faults: Vec<(u64, String)>,
    pub bodies: Vec<String>,
    /// Per `METHOD PATH`, every (has a body, has a content-type) seen.
    pub shapes: std::collections::BTreeMap<String, std::collections::BTreeSet<(bool, bool)>>,
}

pub struct Server {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Seen>>,
    _runtime: tokio::runtime::Runtime,
}

impl Server {
    pub fn start(behaviour: Behaviour) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let first: Arc<Mutex<Option<Instant>>> = Arc::default();
        let s = seen.clone();
        runtime.spawn(async move {
            let dead = Arc::new(std::sync::atomic::AtomicBool::new(false));
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                if dead.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(stream);
                    // A dead server: stop listening altogether.
                    return;
                }
                tokio::spawn(connection(
                    stream,
                    behaviour,
                    s.clone(),
                    first.clone(),
                    dead.clone(),
                ));
            }
        });
        Server {
            addr,
            seen,
            _runtime: runtime,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(String, String)> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            let total = end + 4 + len;
            while buf.len() < total {
                let mut chunk = [0u8; 8192];
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = String::from_utf8_lossy(&buf[end + 4..total]).to_string();
            buf.drain(..total);
            return Some((head, body));
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn response(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn connection(
    mut stream: TcpStream,
    behaviour: Behaviour,
    seen: Arc<Mutex<Seen>>,
    first: Arc<Mutex<Option<Instant>>>,
    dead: Arc<std::sync::atomic::AtomicBool>,
) {
    if behaviour == Behaviour::NeverReads {
        // Hold the connection open, unread, until the client gives up on it.
        let mut one = [0u8; 1];
        tokio::time::sleep(Duration::from_secs(30)).await;
        let _ = stream.try_read(&mut one);
        return;
    }
    let mut buf = Vec::new();
    while let Some((head, body)) = read_request(&mut stream, &mut buf).await {
        let since_first = {
            let mut f = first.lock().unwrap();
            f.get_or_insert_with(Instant::now).elapsed()
        };
        {
            let mut s = seen.lock().unwrap();
            s.requests += 1;
            s.arrived.push(Instant::now());
            let line: Vec<&str> = head.lines().next().unwrap_or("").split(' ').collect();
            if line.len() >= 2 {
                let key = format!("{} {}", line[0], line[1]);
                *s.paths.entry(key.clone()).or_default() += 1;
                let typed = head.lines().any(|l| {
                    l.split_once(':')
                        .is_some_and(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                });
                s.shapes
                    .entry(key)
                    .or_default()
                    .insert((!body.is_empty(), typed));
            }
            if let Some(n) = head.lines().find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("x-gauntlet-tx")
                    .then(|| value.trim().parse::<u64>().ok())
                    .flatten()
            }) {
                s.tx_numbers.push(n);
            }
            let header = |wanted: &str| {
                head.lines().find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case(wanted)
                        .then(|| value.trim().to_string())
                })
            };
            if let Some(f) = header("x-gauntlet-fault") {
                let tx = header("x-gauntlet-tx")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                s.faults.push((tx, f));
            }
            if s.headers.len() < 5 {
                s.headers.push(head.clone());
                s.bodies.push(body.clone());
            }
        }
        let fraud = body.contains("\"is_fraud\":true");
        let normal = response(
            "200 OK",
            &format!(
                "{{\"verdict\":{{\"action\":\"{}\"}}}}",
                if fraud { "deny" } else { "allow" }
            ),
        );
        let out = match behaviour {
            Behaviour::Normal => normal,
            Behaviour::StallOnce { at, stall } => {
                if since_first >= at && since_first < at + stall {
                    tokio::time::sleep(at + stall - since_first).await;
                }
                normal
            }
            Behaviour::Garbage => b"HELLO THERE, NOT HTTP\r\n\r\n".to_vec(),
            Behaviour::Truncated => {
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789")
                    .await;
                return;
            }
            Behaviour::Reset => return,
            Behaviour::Huge => response("200 OK", &"x".repeat(5 * 1024 * 1024)),
            Behaviour::SlowBody => {
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n")
                    .await;
                for _ in 0..100 {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    if stream.write_all(b"x").await.is_err() {
                        return;
                    }
                }
                continue;
            }
            Behaviour::Unavailable => response("503 Service Unavailable", "{}"),
            Behaviour::Status(code) => response(&format!("{code} Whatever"), "{}"),
            Behaviour::Body(body) => response("200 OK", body),
            Behaviour::FailPath(path) => {
                if head
                    .lines()
                    .next()
                    .is_some_and(|l| l.contains(&format!(" {path} ")))
                {
                    response("503 Service Unavailable", "{}")
                } else {
                    normal
                }
            }
            Behaviour::Delay(d) => {
                tokio::time::sleep(d).await;
                normal
            }
            Behaviour::CloseAfterHeaders => {
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 50\r\n\r\n")
                    .await;
                return;
            }
            Behaviour::EndlessChunks => {
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                    .await;
                loop {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    if stream.write_all(b"4\r\nxxxx\r\n").await.is_err() {
                        return;
                    }
                }
            }
            Behaviour::Body100MB => {
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 104857600\r\n\r\n")
                    .await;
                let chunk = vec![b'x'; 64 * 1024];
                for _ in 0..1600 {
                    if stream.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
                continue;
            }
            Behaviour::NeverReads => return,
            Behaviour::DiesAfter(after) => {
                if since_first >= after {
                    dead.store(true, std::sync::atomic::Ordering::SeqCst);
                    return;
                }
                normal
            }
        };
        if stream.write_all(&out).await.is_err() {
            return;
        }
    }
}
