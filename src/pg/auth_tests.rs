//! Authentication against tiny fake servers (`fake.rs`): a server that never proves it knows
//! the password (it skips SCRAM's `SASLContinue` or `SASLFinal`, or sends a wrong server
//! signature), one that sends authentication messages out of order, and the methods
//! `requireAuth`/`channelBinding` refuse — each fails the attempt with a clear error.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::fake::{msg, ready_startup, FakeServer, Responder};
use super::{Conn, ConnListener, ConnOptions};
use crate::config::PoolConfig;
use crate::error::{Error, Result};

struct Quiet;

impl ConnListener for Quiet {
    fn notification(&self, _: u64, _: i32, _: &str, _: &str) {}
    fn notice(&self, _: u64, _: &[u8]) {}
    fn closed(&self, _: u64, _: Option<Error>) {}
}

fn auth_request(kind: i32, data: &[u8]) -> Vec<u8> {
    let mut body = kind.to_be_bytes().to_vec();
    body.extend_from_slice(data);
    msg(b'R', &body)
}

/// `AuthenticationSASL` offering these mechanisms.
fn sasl(mechanisms: &[&str]) -> Vec<u8> {
    let mut list = Vec::new();
    for m in mechanisms {
        list.extend_from_slice(m.as_bytes());
        list.push(0);
    }
    list.push(0);
    auth_request(10, &list)
}

/// The client nonce of a `SASLInitialResponse` body (mechanism, length, `gs2,,n=*,r=<nonce>`).
fn client_nonce(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let at = text.find(",r=")?;
    Some(text[at + 3..].trim_end_matches('\0').to_string())
}

/// What a scripted SCRAM server does after the client's first message.
#[derive(Clone, Copy)]
enum Script {
    /// `AuthenticationOk` at once, instead of `SASLContinue`.
    OkInsteadOfContinue,
    /// `SASLContinue`, then `AuthenticationOk` instead of `SASLFinal`.
    OkInsteadOfFinal,
    /// `SASLContinue`, then a `SASLFinal` whose signature is wrong, then `AuthenticationOk`.
    WrongSignature,
    /// `SASLContinue`, then `SASLFinal` again in place of `SASLContinue`'s answer order:
    /// a second `SASLContinue`.
    ContinueTwice,
}

fn scram_server(script: Script) -> Responder {
    Arc::new(move |ty, body| {
        if ty != b'p' {
            return (Vec::new(), false);
        }
        if body.starts_with(b"SCRAM-SHA-256") {
            let nonce = client_nonce(body).unwrap_or_default();
            let first = format!("r={nonce}SERVERNONCE,s=c2FsdHNhbHQ=,i=4096");
            return match script {
                Script::OkInsteadOfContinue => (ready_startup(), false),
                _ => (auth_request(11, first.as_bytes()), false),
            };
        }
        // The client's final message.
        match script {
            Script::OkInsteadOfFinal => (ready_startup(), false),
            Script::WrongSignature => {
                let mut out = auth_request(12, b"v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
                out.extend(ready_startup());
                (out, false)
            }
            Script::ContinueTwice => (auth_request(11, b"r=x,s=c2FsdA==,i=4096"), false),
            Script::OkInsteadOfContinue => (Vec::new(), false),
        }
    })
}

fn config(port: u16, extra: Value) -> PoolConfig {
    let mut opts = json!({ "host": "127.0.0.1", "port": port, "user": "u", "database": "d" });
    for (k, v) in extra.as_object().expect("an object") {
        opts[k] = v.clone();
    }
    PoolConfig::from_options(&opts, &|_| None).expect("valid options")
}

/// Connects to `server` with password `pw`; the attempt must settle within 5 s.
async fn attempt(server: &FakeServer, extra: Value) -> Result<Conn> {
    let cfg = config(server.port, extra);
    tokio::time::timeout(
        Duration::from_secs(5),
        Conn::connect(
            1,
            &cfg.connect,
            None,
            || async { Ok(Some("pw".to_string())) },
            ConnOptions::default(),
            Arc::new(Quiet),
            None,
        ),
    )
    .await
    .expect("the attempt settles")
}

fn refused(r: Result<Conn>, what: &str) -> Error {
    match r {
        Ok(_) => panic!("{what}: connected"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn a_scram_server_that_skips_sasl_final_is_refused() {
    let server = FakeServer::start(
        sasl(&["SCRAM-SHA-256"]),
        scram_server(Script::OkInsteadOfFinal),
    )
    .await;
    let e = refused(attempt(&server, json!({})).await, "no SASLFinal");
    assert!(matches!(e, Error::Protocol(_)), "{e:?}");
    assert!(e.to_string().contains("authenticationOk"), "{e}");
}

#[tokio::test]
async fn a_scram_server_that_skips_sasl_continue_is_refused() {
    let server = FakeServer::start(
        sasl(&["SCRAM-SHA-256"]),
        scram_server(Script::OkInsteadOfContinue),
    )
    .await;
    let e = refused(attempt(&server, json!({})).await, "no SASLContinue");
    assert!(matches!(e, Error::Protocol(_)), "{e:?}");
}

#[tokio::test]
async fn a_wrong_server_signature_is_refused() {
    let server = FakeServer::start(
        sasl(&["SCRAM-SHA-256"]),
        scram_server(Script::WrongSignature),
    )
    .await;
    let e = refused(attempt(&server, json!({})).await, "wrong signature");
    assert_eq!(e.code(), "LDP_AUTH", "{e:?}");
    assert!(
        e.to_string().contains("server signature does not match"),
        "{e}"
    );
}

#[tokio::test]
async fn a_second_sasl_continue_is_a_protocol_error() {
    let server = FakeServer::start(
        sasl(&["SCRAM-SHA-256"]),
        scram_server(Script::ContinueTwice),
    )
    .await;
    let e = refused(attempt(&server, json!({})).await, "SASLContinue twice");
    assert!(matches!(e, Error::Protocol(_)), "{e:?}");
}

#[tokio::test]
async fn authentication_messages_out_of_order_are_protocol_errors() {
    let mut ok_then_md5 = auth_request(0, b"");
    ok_then_md5.extend(auth_request(5, b"salt"));
    let mut ok_twice = auth_request(0, b"");
    ok_twice.extend(ready_startup());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("SASLFinal first", auth_request(12, b"v=AAAA")),
        (
            "SASLContinue first",
            auth_request(11, b"r=x,s=c2FsdA==,i=4096"),
        ),
        ("ReadyForQuery before authentication", msg(b'Z', b"I")),
        ("BackendKeyData before authentication", msg(b'K', &[0; 8])),
        ("a password request after AuthenticationOk", ok_then_md5),
        ("AuthenticationOk twice", ok_twice),
    ];
    for (what, startup) in cases {
        let server = FakeServer::start(startup, Arc::new(|_, _| (Vec::new(), false))).await;
        let e = refused(attempt(&server, json!({})).await, what);
        assert!(matches!(e, Error::Protocol(_)), "{what}: {e:?}");
    }
}

#[tokio::test]
async fn require_auth_refuses_the_methods_it_does_not_list() {
    let answer: Responder = Arc::new(|ty, _| match ty {
        b'p' => (ready_startup(), false),
        _ => (Vec::new(), false),
    });
    let cleartext = auth_request(3, b"");
    let md5 = auth_request(5, b"salt");
    let cases: Vec<(&str, Vec<u8>, Value)> = vec![
        (
            "cleartext, scram required",
            cleartext.clone(),
            json!({"requireAuth": "scram-sha-256"}),
        ),
        (
            "md5, scram required",
            md5.clone(),
            json!({"requireAuth": ["scram-sha-256"]}),
        ),
        (
            "cleartext refused by !password",
            cleartext.clone(),
            json!({"requireAuth": "!password"}),
        ),
        (
            "md5 refused in the string",
            md5.clone(),
            json!({"connectionString": "postgres://u@h/d?require_auth=password"}),
        ),
        (
            "trust, a password method required",
            ready_startup(),
            json!({"requireAuth": "md5,scram-sha-256"}),
        ),
        (
            "trust refused by !none",
            ready_startup(),
            json!({"requireAuth": "!none"}),
        ),
        (
            "md5 without channel binding",
            md5.clone(),
            json!({"channelBinding": "require"}),
        ),
        (
            "trust without channel binding",
            ready_startup(),
            json!({"channelBinding": "require"}),
        ),
        (
            "scram without PLUS on plain TCP",
            sasl(&["SCRAM-SHA-256"]),
            json!({"channelBinding": "require"}),
        ),
    ];
    for (what, startup, opts) in cases {
        let server = FakeServer::start(startup, answer.clone()).await;
        let mut opts = opts;
        if let Some(cs) = opts.get("connectionString").and_then(Value::as_str) {
            opts["connectionString"] = cs
                .replace("@h/", &format!("@127.0.0.1:{}/", server.port))
                .into();
        }
        let e = refused(attempt(&server, opts).await, what);
        assert_eq!(e.code(), "LDP_AUTH_REFUSED", "{what}: {e:?}");
    }
    // Without the options, pg's behaviour: whatever the server asks for is answered.
    for startup in [cleartext, md5] {
        let server = FakeServer::start(startup, answer.clone()).await;
        attempt(&server, json!({})).await.expect("connects");
    }
    // What the requirement lists is accepted.
    let server = FakeServer::start(auth_request(5, b"salt"), answer.clone()).await;
    attempt(&server, json!({"requireAuth": "md5"}))
        .await
        .expect("md5 allowed");
    let server = FakeServer::start(ready_startup(), answer).await;
    attempt(&server, json!({"requireAuth": "none"}))
        .await
        .expect("trust allowed");
}

#[tokio::test]
async fn a_server_that_refuses_tls_is_never_used_in_plain_text() {
    // The fake server answers SSLRequest with `N`.
    let server = FakeServer::start(ready_startup(), Arc::new(|_, _| (Vec::new(), false))).await;
    for ssl in [
        json!(true),
        json!({"rejectUnauthorized": false}),
        json!("no-verify"),
    ] {
        let e = refused(attempt(&server, json!({ "ssl": ssl })).await, "TLS refused");
        assert!(matches!(e, Error::TlsUnsupported), "{e:?}");
    }
    assert!(
        server
            .seen()
            .iter()
            .all(|s| *s == super::fake::Seen::Closed),
        "no startup message went out in plain text: {:?}",
        server.seen()
    );
}
