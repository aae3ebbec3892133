//! An HTTPS server for the tests, on 127.0.0.1 and an ephemeral port, with a fresh self-signed
//! certificate (rcgen) for `localhost` and `127.0.0.1`. It speaks HTTP/2 or HTTP/1.1, as ALPN
//! settles, answers like `http_server`'s normal behaviour, and counts requests by version.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Default)]
pub struct Counts {
    pub http1: AtomicU64,
    pub http2: AtomicU64,
}

/// A client certificate and key (PEM) signed by a CA the server trusts: mutual TLS.
pub struct ClientCert {
    pub cert_pem: String,
    pub key_pem: String,
}

pub struct TlsServer {
    pub addr: SocketAddr,
    /// The certificate, PEM: what a scenario gives as `ca`.
    pub cert_pem: String,
    /// With `start_mutual`: a client certificate the server accepts.
    pub client: Option<ClientCert>,
    pub counts: Arc<Counts>,
    /// How many handshakes the server refused, counted once the alert is sent and its write
    /// side shut: the alert is then in the client's socket.
    pub refused: tokio::sync::watch::Receiver<u64>,
    _runtime: tokio::runtime::Runtime,
}

impl TlsServer {
    pub fn start() -> TlsServer {
        TlsServer::start_with(false)
    }

    /// A server that asks for a client certificate signed by its own CA.
    pub fn start_mutual() -> TlsServer {
        TlsServer::start_with(true)
    }

    fn start_with(mutual: bool) -> TlsServer {
        let key = rcgen::generate_simple_self_signed(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])
        .unwrap();
        let cert_pem = key.cert.pem();
        let chain = vec![CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap()];
        let private =
            PrivateKeyDer::from_pem_slice(key.signing_key.serialize_pem().as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let (builder, client) = if mutual {
            let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            let ca =
                rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
                    .unwrap();
            let mut params =
                rcgen::CertificateParams::new(vec!["client.test".to_string()]).unwrap();
            params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
            let client_key = rcgen::KeyPair::generate().unwrap();
            let client_cert = params.signed_by(&client_key, &ca).unwrap();
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca.der().clone()).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            (
                builder.with_client_cert_verifier(verifier),
                Some(ClientCert {
                    cert_pem: client_cert.pem(),
                    key_pem: client_key.serialize_pem(),
                }),
            )
        } else {
            (builder.with_no_client_auth(), None)
        };
        let mut config = builder.with_single_cert(chain, private).unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let counts = Arc::new(Counts::default());
        let c = counts.clone();
        let (refused_tx, refused) = tokio::sync::watch::channel(0u64);
        let refused_tx = Arc::new(refused_tx);
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let counts = c.clone();
                let refused_tx = refused_tx.clone();
                tokio::spawn(async move {
                    let tls = match acceptor.accept(stream).into_fallible().await {
                        Ok(tls) => tls,
                        // The handshake failed and the alert that says why is sent. Close as
                        // nginx does (lingering close): stop writing, then read what the
                        // client still sends until it closes. Closing with its request
                        // unread would answer with a reset that can overtake the alert.
                        Err((_, mut io)) => {
                            let _ = io.shutdown().await;
                            refused_tx.send_modify(|n| *n += 1);
                            let mut sink = [0u8; 4096];
                            let drain = async {
                                while matches!(io.read(&mut sink).await, Ok(n) if n > 0) {}
                            };
                            let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
                            return;
                        }
                    };
                    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                    let io = TokioIo::new(tls);
                    let service = hyper::service::service_fn(move |req| {
                        let counts = counts.clone();
                        async move { answer(req, h2, &counts).await }
                    });
                    if h2 {
                        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                            .serve_connection(io, service)
                            .await;
                    } else {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service)
                            .await;
                    }
                });
            }
        });
        TlsServer {
            addr,
            cert_pem,
            client,
            counts,
            refused,
            _runtime: runtime,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }
}

async fn answer(
    req: Request<hyper::body::Incoming>,
    h2: bool,
    counts: &Counts,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if h2 {
        counts.http2.fetch_add(1, Ordering::Relaxed);
    } else {
        counts.http1.fetch_add(1, Ordering::Relaxed);
    }
    let body = req
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let fraud = String::from_utf8_lossy(&body).contains("\"is_fraud\":true");
    let text = format!(
        "{{\"verdict\":{{\"action\":\"{}\"}}}}",
        if fraud { "deny" } else { "allow" }
    );
    let mut r = Response::new(Full::new(Bytes::from(text)));
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

/// A cleartext HTTP/2 server (prior knowledge, no TLS) that counts its requests.
pub struct H2cServer {
    pub addr: SocketAddr,
    pub counts: Arc<Counts>,
    _runtime: tokio::runtime::Runtime,
}

impl H2cServer {
    pub fn start() -> H2cServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let counts = Arc::new(Counts::default());
        let c = counts.clone();
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let counts = c.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let counts = counts.clone();
                        async move { answer(req, true, &counts).await }
                    });
                    // Only HTTP/2: an HTTP/1.1 client fails here, which the test would see.
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        H2cServer {
            addr,
            counts,
            _runtime: runtime,
        }
    }
}
