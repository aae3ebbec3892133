//! HTTPS and HTTP/2 against an in-process TLS server with a fresh self-signed certificate:
//! trusted through `ca`, refused without it (counted as `tls-certificate`, named on stderr),
//! `insecure`, HTTP/2 by ALPN, and the fault proxy in front of a TLS service.

use serde_json::Value;

use super::support::{gauntlet, write};
use super::tls_server::TlsServer;

fn scenario(url: &str, rate: u32, target_extra: &str, extra: &str) -> String {
    format!(
        r#"[scenario]
name = "tls-test"
seed = 13

[target]
kind = "http"
url = "{url}"
timeout = "2s"
decision = {{ pointer = "/verdict/action", block = ["deny"] }}
{target_extra}

[[phase]]
name = "load"
duration = "1s"
load = {{ pattern = "constant", rate = {rate} }}
{extra}"#
    )
}

/// Runs with the certificate written beside the scenario as `ca.pem`; (exit code, results,
/// stderr).
fn run(server: &TlsServer, text: &str) -> (i32, Value, String) {
    run_with(server, text, &[])
}

/// The same, with more files beside the scenario.
fn run_with(server: &TlsServer, text: &str, files: &[(&str, &str)]) -> (i32, Value, String) {
    let w = write("s.toml", text);
    std::fs::write(w.dir.path().join("ca.pem"), &server.cert_pem).unwrap();
    for (name, contents) in files {
        std::fs::write(w.dir.path().join(name), contents).unwrap();
    }
    let out = w.dir.path().join("out");
    let assert = gauntlet()
        .arg("run")
        .arg(&w.path)
        .args(["--quiet", "--out"])
        .arg(&out)
        .assert();
    let o = assert.get_output();
    let results = std::fs::read_to_string(out.join("results.json"))
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(Value::Null);
    (
        o.status.code().unwrap_or(-1),
        results,
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

fn totals(r: &Value) -> (u64, u64, u64) {
    let t = &r["summary"]["totals"];
    (
        t["planned"].as_u64().unwrap(),
        t["ok"].as_u64().unwrap(),
        t["lost"].as_u64().unwrap(),
    )
}

#[test]
fn https_with_the_services_certificate_as_ca_answers_everything() {
    let server = TlsServer::start();
    let (code, r, _) = run(
        &server,
        &scenario(
            &server.url("/score"),
            200,
            "[target.tls]\nca = \"ca.pem\"",
            "",
        ),
    );
    assert_eq!(code, 0);
    assert_eq!(totals(&r), (200, 200, 0));
    assert_eq!(
        r["transport"],
        serde_json::json!({ "http": "1.1", "tls": true, "insecure": false })
    );
    assert_eq!(
        server
            .counts
            .http1
            .load(std::sync::atomic::Ordering::Relaxed),
        200
    );
    // Decisions are read through TLS like anywhere else.
    let decisions = &r["summary"]["decisions"];
    assert_eq!(
        decisions["approve"].as_u64().unwrap() + decisions["block"].as_u64().unwrap(),
        200,
        "{decisions}"
    );
}

#[test]
fn an_untrusted_certificate_is_counted_and_named() {
    let server = TlsServer::start();
    let (_, r, stderr) = run(&server, &scenario(&server.url("/score"), 50, "", ""));
    let (planned, ok, lost) = totals(&r);
    assert_eq!((planned, ok, lost), (50, 0, 0));
    assert_eq!(
        r["errors_by_kind"],
        serde_json::json!({ "tls-certificate": 50 })
    );
    assert!(
        stderr.contains("error: TLS to 127.0.0.1:") && stderr.contains("[target.tls] ca"),
        "the first failure says what to do: {stderr}"
    );
    assert_eq!(
        stderr.matches("error: TLS to").count(),
        1,
        "said once: {stderr}"
    );
}

#[test]
fn insecure_skips_verification_with_a_warning_and_a_record() {
    let server = TlsServer::start();
    let (code, r, stderr) = run(
        &server,
        &scenario(
            &server.url("/score"),
            50,
            "[target.tls]\ninsecure = true",
            "",
        ),
    );
    assert_eq!(code, 0);
    assert_eq!(totals(&r), (50, 50, 0));
    assert!(
        stderr.contains("warning: [target.tls] insecure = true"),
        "{stderr}"
    );
    assert_eq!(r["transport"]["insecure"], true);
}

#[test]
fn http2_over_tls_multiplexes_on_few_connections() {
    let server = TlsServer::start();
    let (code, r, _) = run(
        &server,
        &scenario(
            &server.url("/score"),
            300,
            "http = \"2\"\nconnections = 2\n[target.tls]\nca = \"ca.pem\"\nserver_name = \"localhost\"",
            "",
        ),
    );
    assert_eq!(code, 0);
    assert_eq!(totals(&r), (300, 300, 0));
    assert_eq!(r["transport"]["http"], "2");
    let c = &server.counts;
    assert_eq!(c.http2.load(std::sync::atomic::Ordering::Relaxed), 300);
    assert_eq!(c.http1.load(std::sync::atomic::Ordering::Relaxed), 0);
}

#[test]
fn http2_over_cleartext_speaks_with_prior_knowledge() {
    let server = super::tls_server::H2cServer::start();
    let w = write(
        "s.toml",
        &scenario(
            &format!("http://{}/score", server.addr),
            100,
            "http = \"2\"\nconnections = 1",
            "",
        ),
    );
    let out = w.dir.path().join("out");
    gauntlet()
        .arg("run")
        .arg(&w.path)
        .args(["--quiet", "--out"])
        .arg(&out)
        .assert()
        .success();
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(totals(&r), (100, 100, 0));
    assert_eq!(
        r["transport"],
        serde_json::json!({ "http": "2", "tls": false, "insecure": false })
    );
    assert_eq!(
        server
            .counts
            .http2
            .load(std::sync::atomic::Ordering::Relaxed),
        100
    );
}

#[test]
fn the_fault_proxy_opens_tls_to_the_service_and_still_injects() {
    let server = TlsServer::start();
    let failure = "[[failure]]\nname = \"bad-gateway\"\ncomponent = \"upstream\"\nkind = \"errors\"\nprobability = 1\nstatus = 502\nat = \"500ms\"\nduration = \"500ms\"\n";
    for http in ["1.1", "2"] {
        let (_, r, stderr) = run(
            &server,
            &scenario(
                &server.url("/score"),
                100,
                &format!("http = \"{http}\"\n[target.tls]\nca = \"ca.pem\""),
                failure,
            ),
        );
        assert!(r.is_object(), "http {http}: {stderr}");
        let (planned, ok, lost) = totals(&r);
        assert_eq!((planned, lost), (100, 0));
        let errors = r["errors_by_kind"]["status-5xx"].as_u64().unwrap();
        assert_eq!(ok + errors, 100, "http {http}: {}", r["errors_by_kind"]);
        assert!(
            (45..=55).contains(&errors),
            "http {http}: half the second fails: {errors}"
        );
    }
}

#[test]
fn mutual_tls_needs_the_client_certificate() {
    let server = TlsServer::start_mutual();
    let client = server.client.as_ref().unwrap();
    let (code, r, _) = run_with(
        &server,
        &scenario(
            &server.url("/score"),
            40,
            "[target.tls]\nca = \"ca.pem\"\ncert = \"client.pem\"\nkey = \"client.key\"",
            "",
        ),
        &[
            ("client.pem", &client.cert_pem),
            ("client.key", &client.key_pem),
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(totals(&r), (40, 40, 0));

    // Without the client certificate the server ends the handshake. With TLS 1.3 the
    // refusal is an alert the server sends after the handshake; the connection breaks under
    // the first request, and the driver of the connection says why.
    refused_without_the_client_certificate(&server, "");
}

/// 40 requests to the mutual-TLS `server` without a client certificate (`target_extra` before
/// `[target.tls]`): none answered, every one a `tls-handshake`.
fn refused_without_the_client_certificate(server: &TlsServer, target_extra: &str) {
    let (_, r, stderr) = run(
        server,
        &scenario(
            &server.url("/score"),
            40,
            &format!("{target_extra}[target.tls]\nca = \"ca.pem\""),
            "",
        ),
    );
    assert_eq!(totals(&r).1, 0);
    assert_eq!(
        r["errors_by_kind"],
        serde_json::json!({ "tls-handshake": 40 }),
        "{stderr}"
    );
}

/// The refusal can arrive before the request is written: the connection then ends with the
/// alert and the request only hears that its channel closed. It is still a `tls-handshake`,
/// not a `reset`. Under load that is a race; here the alert is in the client's socket before
/// the request is sent, every time.
#[test]
fn a_refusal_read_before_the_request_is_still_a_tls_failure() {
    use gauntlet::targets::ErrorKind;
    use gauntlet::targets::http::client::{Pool, Transport};

    let server = TlsServer::start_mutual();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &server.cert_pem).unwrap();
    let tls = gauntlet::scenario::model::Tls {
        ca: Some("ca.pem".to_string()),
        ..Default::default()
    };
    let setup = gauntlet::targets::http::tls::setup(&tls, "127.0.0.1", dir.path(), false).unwrap();
    let transport = Transport {
        tls: Some(setup),
        http2: false,
        authority: server.addr.to_string(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut refused = server.refused.clone();
    let request = || {
        hyper::Request::post(format!("http://{}/score", server.addr))
            .header(hyper::header::HOST, server.addr.to_string())
            .body(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")))
            .unwrap()
    };
    runtime.block_on(async {
        // A connection driven by the request that uses it (the generator's workers), used as
        // they use it: wait until it takes a request, then send. The alert is in its socket
        // first; once the runtime has seen it readable, waiting reads the alert and hyper
        // only says the connection closed; the connection's own end says why.
        let pool = Pool::with(server.addr, 1, transport.clone());
        for refusals in 1..=3 {
            let mut conn = pool.open1().await.unwrap();
            refused.wait_for(|n| *n >= refusals).await.unwrap();
            tokio::task::yield_now().await;
            let outcome = match conn.ready().await {
                Ok(()) => conn.send(request()).await.map(|_| ()),
                Err(kind) => Err(kind),
            };
            assert_eq!(outcome.err(), Some(ErrorKind::TlsHandshake));
            assert!(conn.is_closed());
        }

        // The pooled client (the fault proxy's way to the service) opens its connection with
        // the first request; the alert is read before or after the request is written.
        let pool = Pool::with(server.addr, 1, transport);
        assert_eq!(
            pool.send(request()).await.err(),
            Some(ErrorKind::TlsHandshake)
        );
    });
}

#[test]
fn tls_settings_are_checked_before_the_run() {
    let w = write(
        "s.toml",
        &scenario(
            "http://127.0.0.1:9/",
            1,
            "[target.tls]\ncert = \"nope.pem\"",
            "",
        ),
    );
    gauntlet()
        .arg("validate")
        .arg(&w.path)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "[target.tls] is for https:// URLs",
        ))
        .stderr(predicates::str::contains("cert and key go together"))
        .stderr(predicates::str::contains("cert \"nope.pem\" not found"));
}

/// HTTP/2 passes the connection's I/O error on to its requests as text, without rustls's
/// error, or says only that the connection closed: the refusal is still a `tls-handshake`
/// (all 40 were counted as `reset` before the stream kept its TLS failure).
#[test]
fn http2_without_the_client_certificate_is_a_tls_failure() {
    let server = TlsServer::start_mutual();
    refused_without_the_client_certificate(&server, "http = \"2\"\n");
}
