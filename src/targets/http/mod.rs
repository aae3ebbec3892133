//! Real HTTP services. `client` sends transactions over a bounded pool of keep-alive
//! connections (HTTP/1.1 or HTTP/2, plain or TLS, see `tls`); `proxy` is gauntlet's own fault
//! proxy, put between the generator and the upstream when failures are scheduled (handing
//! failures aimed inside the service on in `fault_header`); `scrape` reads the run's probes;
//! `serve` runs the fraud-pipeline as a real service with its own `/metrics`.

pub mod client;
mod decision;
pub mod fault_header;
pub mod proxy;
pub mod scrape;
pub mod serve;
pub mod tls;

pub use decision::Decisions;

use std::future::Future;
use std::net::SocketAddr;

use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Accepts connections on `listener` forever, serving each with HTTP/1.1 and `handler`.
pub async fn serve_connections<F, Fut, B, E>(listener: TcpListener, handler: F)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<Response<B>, E>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(handler);
            // A connection ends when the client closes it or breaks it; nothing to report.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Where requests go: an `http://` or `https://` URL, split and resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `https://`.
    pub tls: bool,
    /// `host:port` as written (the Host header).
    pub authority: String,
    pub host: String,
    pub port: u16,
    /// The path and query (origin-form), `/` when the URL has none.
    pub path: String,
}

/// Why a target cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("invalid url \"{0}\": {1}")]
    Url(String, &'static str),
    #[error("{0}")]
    Tls(String),
    #[error("cannot resolve \"{host}\": {reason}")]
    Resolve { host: String, reason: String },
    #[error(
        "environment variable {name} is not set and has no default (used in [target] {place}); set it, pass --env {name}=VALUE, or write ${{{name}:-default}}"
    )]
    MissingEnv { name: String, place: String },
    #[error("{0}")]
    Template(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
    #[error("cannot start the fault proxy on 127.0.0.1: {0}")]
    Proxy(String),
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint, TargetError> {
        let bad = |why| TargetError::Url(url.to_string(), why);
        let (tls, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
            (Some(rest), _) => (true, rest),
            (_, Some(rest)) => (false, rest),
            _ => return Err(bad("it must start with http:// or https://")),
        };
        let default_port = if tls { 443 } else { 80 };
        let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        let path = path.split('#').next().unwrap_or_default();
        let path = if path.is_empty() {
            "/".to_string()
        } else if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(bad("it needs a host, and no user:password@"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("unclosed [ in the host"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p
                    .parse()
                    .map_err(|_| bad("the port is not a number from 1 to 65535"))?,
                None if after.is_empty() => default_port,
                None => return Err(bad("unexpected text after the host")),
            };
            (h.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_string(),
                    p.parse()
                        .map_err(|_| bad("the port is not a number from 1 to 65535"))?,
                ),
                None => (authority.to_string(), default_port),
            }
        };
        if host.is_empty() || port == 0 {
            return Err(bad("it needs a host and a port from 1 to 65535"));
        }
        Ok(Endpoint {
            tls,
            authority: authority.to_string(),
            host,
            port,
            path,
        })
    }

    /// Resolves the host to its first address.
    pub async fn resolve(&self) -> Result<SocketAddr, TargetError> {
        let err = |reason: String| TargetError::Resolve {
            host: self.host.clone(),
            reason,
        };
        let mut addrs = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|e| err(e.to_string()))?;
        addrs.next().ok_or_else(|| err("no address".to_string()))
    }
}

/// The environment a run expands `${NAME}` from: `--env NAME=VALUE` first, then the
/// process's own.
#[derive(Clone, Debug, Default)]
pub struct Vars {
    overrides: std::collections::BTreeMap<String, String>,
}

impl Vars {
    pub fn new(overrides: impl IntoIterator<Item = (String, String)>) -> Vars {
        Vars {
            overrides: overrides.into_iter().collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<String> {
        self.overrides
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
    }

    /// `value` with `${NAME}` and `${NAME:-default}` expanded; `place` names where it is
    /// (`url`, `header authorization`, `tls ca`) for the error.
    pub fn expand(&self, value: &str, place: &str) -> Result<String, TargetError> {
        crate::plan::expand_refs(value, |n| self.get(n)).map_err(|missing| {
            if missing.contains(' ') {
                // A syntax error (validation catches these first).
                TargetError::Template(missing)
            } else {
                TargetError::MissingEnv {
                    name: missing,
                    place: place.to_string(),
                }
            }
        })
    }
}

/// Why an answer failed its `expect`: results.json `check_failures`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CheckFailure {
    /// A status outside `expect.status`.
    WrongStatus,
    /// The body is not JSON, and `expect.json` asks for pointers.
    NotJson,
    /// A pointer of `expect.json` is not in the body.
    MissingPointer,
    /// A value at a pointer is not among those allowed.
    ValueNotAllowed,
    /// The body is longer than `expect.max_body`.
    BodyTooLarge,
}

impl CheckFailure {
    pub const ALL: [CheckFailure; 5] = [
        CheckFailure::WrongStatus,
        CheckFailure::NotJson,
        CheckFailure::MissingPointer,
        CheckFailure::ValueNotAllowed,
        CheckFailure::BodyTooLarge,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CheckFailure::WrongStatus => "wrong-status",
            CheckFailure::NotJson => "not-json",
            CheckFailure::MissingPointer => "missing-pointer",
            CheckFailure::ValueNotAllowed => "value-not-allowed",
            CheckFailure::BodyTooLarge => "body-too-large",
        }
    }
}

/// Checks an answer against `expect`: `Ok(true)` when its status is one `expect.status`
/// lists (so it is good whatever its class), `Ok(false)` when the status decides nothing
/// here (the usual rules apply), `Err` with the first reason it fails.
pub fn check(
    expect: &crate::scenario::model::Expect,
    status: u16,
    body: &[u8],
) -> Result<bool, CheckFailure> {
    let listed = expect.status.iter().any(|s| s.0 == status);
    if !expect.status.is_empty() && !listed && (200..300).contains(&status) {
        return Err(CheckFailure::WrongStatus);
    }
    if !expect.status.is_empty() && !listed {
        // Not a good answer, and not a 2xx: its status kind tells what it was.
        return Ok(false);
    }
    if let Some(max) = expect.max_body
        && body.len() as u64 > max.0
    {
        return Err(CheckFailure::BodyTooLarge);
    }
    if !expect.json.is_empty() {
        let json: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| CheckFailure::NotJson)?;
        for (pointer, allowed) in &expect.json {
            let v = json.pointer(pointer).ok_or(CheckFailure::MissingPointer)?;
            if allowed.is_empty() {
                continue;
            }
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if !allowed.contains(&text) {
                return Err(CheckFailure::ValueNotAllowed);
            }
        }
    }
    Ok(listed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let e = Endpoint::parse("http://127.0.0.1:8080/score?x=1").unwrap();
        assert_eq!(
            (
                e.host.as_str(),
                e.port,
                e.path.as_str(),
                e.authority.as_str()
            ),
            ("127.0.0.1", 8080, "/score?x=1", "127.0.0.1:8080")
        );
        let e = Endpoint::parse("http://localhost").unwrap();
        assert_eq!((e.port, e.path.as_str()), (80, "/"));
        let e = Endpoint::parse("http://[::1]:9000/a").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("::1", 9000));
        let e = Endpoint::parse("https://pay.example/score").unwrap();
        assert_eq!((e.tls, e.port, e.path.as_str()), (true, 443, "/score"));
        assert!(!Endpoint::parse("http://x/").unwrap().tls);
        for bad in [
            "ftp://x",
            "http://",
            "http://x:99999/",
            "http://x:0/",
            "http://u:p@x/",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn expands_environment_variables_with_defaults_and_overrides() {
        let path = std::env::var("PATH").unwrap();
        let vars = Vars::new([("API_HOST".to_string(), "staging.example".to_string())]);
        assert_eq!(
            vars.expand("x ${PATH} y", "url").unwrap(),
            format!("x {path} y")
        );
        assert_eq!(
            vars.expand("https://${API_HOST}/score", "url").unwrap(),
            "https://staging.example/score"
        );
        assert_eq!(
            vars.expand(
                "${GAUNTLET_SURELY_UNSET_VAR:-http://127.0.0.1:8080}/s",
                "url"
            )
            .unwrap(),
            "http://127.0.0.1:8080/s"
        );
        let empty = Vars::new([("E".to_string(), String::new())]);
        assert_eq!(empty.expand("${E:-d}", "url").unwrap(), "d");
        assert_eq!(empty.expand("[${E}]", "url").unwrap(), "[]");
        match vars.expand("${GAUNTLET_SURELY_UNSET_VAR}", "header x-key") {
            Err(TargetError::MissingEnv { name, place }) => {
                assert_eq!(
                    (name.as_str(), place.as_str()),
                    ("GAUNTLET_SURELY_UNSET_VAR", "header x-key")
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn checks_answers_against_expect() {
        use crate::scenario::model::{Expect, StatusCode};
        let expect = Expect {
            status: vec![StatusCode(200), StatusCode(202)],
            json: [
                (
                    "/decision".to_string(),
                    vec!["approve".into(), "review".into(), "block".into()],
                ),
                ("/score".to_string(), vec![]),
            ]
            .into_iter()
            .collect(),
            max_body: Some(crate::units::ByteSize(64)),
        };
        let good = br#"{"decision":"block","score":0.9}"#;
        assert_eq!(check(&expect, 200, good), Ok(true));
        assert_eq!(check(&expect, 201, good), Err(CheckFailure::WrongStatus));
        assert_eq!(
            check(&expect, 503, good),
            Ok(false),
            "a 5xx keeps its own kind"
        );
        assert_eq!(
            check(&expect, 200, br#"{"decision":"maybe","score":1}"#),
            Err(CheckFailure::ValueNotAllowed)
        );
        assert_eq!(
            check(&expect, 200, br#"{"decision":"block"}"#),
            Err(CheckFailure::MissingPointer)
        );
        assert_eq!(check(&expect, 200, b"<html>"), Err(CheckFailure::NotJson));
        let long = format!(
            r#"{{"decision":"block","score":0.9,"pad":"{}"}}"#,
            "x".repeat(64)
        );
        assert_eq!(
            check(&expect, 200, long.as_bytes()),
            Err(CheckFailure::BodyTooLarge)
        );
        let any_2xx = Expect::default();
        assert_eq!(check(&any_2xx, 204, b""), Ok(false));
    }
}
