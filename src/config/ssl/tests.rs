use super::*;
use serde_json::json;

use crate::config::fixtures::{cfg, err, USER};

/// A CA certificate (self-signed, P-256, valid until 2126) for the options that must hold one.
const CA: &str = include_str!("test_ca.pem");

fn env_with(mode: &str) -> impl Fn(&str) -> Option<String> + '_ {
    move |k: &str| (k == "PGSSLMODE").then(|| mode.to_string())
}

fn enabled(c: SslConfig) -> TlsOptions {
    match c {
        SslConfig::Enabled(t) => t,
        SslConfig::Disabled => panic!("expected SSL"),
    }
}

#[test]
fn pgsslmode() {
    // Unset or empty: no decision (pg.defaults.ssl, else off).
    assert_eq!(from_env(&|_| None).unwrap(), None);
    assert_eq!(from_env(&env_with("")).unwrap(), None);
    assert!(matches!(
        from_env(&env_with("disable")).unwrap(),
        Some(SslConfig::Disabled)
    ));
    for m in ["prefer", "require", "verify-ca", "verify-full"] {
        assert!(
            enabled(from_env(&env_with(m)).unwrap().unwrap()).reject_unauthorized,
            "{m}"
        );
    }
    assert!(!enabled(from_env(&env_with("no-verify")).unwrap().unwrap()).reject_unauthorized);
    let e = from_env(&env_with("allow")).unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::Range);
    assert_eq!(e.option, "PGSSLMODE");
    assert!(e.message.contains("\"allow\""));
}

#[test]
fn values() {
    let o = Origin::Opt("ssl");
    assert!(matches!(
        from_value(&json!(null), o).unwrap(),
        SslConfig::Disabled
    ));
    assert!(matches!(
        from_value(&json!(false), o).unwrap(),
        SslConfig::Disabled
    ));
    assert!(matches!(
        from_value(&json!(""), o).unwrap(),
        SslConfig::Disabled
    ));
    assert_eq!(
        enabled(from_value(&json!(true), o).unwrap()),
        TlsOptions::default()
    );
    assert_eq!(
        enabled(from_value(&json!("true"), o).unwrap()),
        TlsOptions::default()
    );
    assert!(!enabled(from_value(&json!("no-verify"), o).unwrap()).reject_unauthorized);
    assert_eq!(
        enabled(from_value(&json!({}), o).unwrap()),
        TlsOptions::default()
    );
    let e = from_value(&json!("false"), o).unwrap_err();
    assert_eq!((e.kind, e.option.as_str()), (ConfigErrorKind::Range, "ssl"));
    assert!(e.message.contains("received \"false\""));
    let e = from_value(&json!(1), o).unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::Type);
    let e = from_value(&json!("require"), Origin::ConnString("ssl")).unwrap_err();
    assert_eq!(e.option, "connectionString");
}

#[test]
fn objects() {
    let o = Origin::Opt("ssl");
    let t = enabled(
        from_value(
            &json!({"rejectUnauthorized": false, "ca": [CA, CA], "cert": "C",
                    "key": "K", "servername": "db.example", "require": true}),
            o,
        )
        .unwrap(),
    );
    assert!(!t.reject_unauthorized);
    assert_eq!(t.ca, Some(format!("{CA}\n{CA}")));
    assert_eq!(t.cert.as_deref(), Some("C"));
    assert_eq!(t.key.as_ref().map(Secret::expose), Some("K"));
    assert_eq!(t.servername.as_deref(), Some("db.example"));
    let dbg = format!("{t:?}");
    assert!(!dbg.contains("\"K\"") && dbg.contains("********"), "{dbg}");

    let t = enabled(
        from_value(
            &json!({"rejectUnauthorized": null, "ca": "", "servername": ""}),
            o,
        )
        .unwrap(),
    );
    assert_eq!(t, TlsOptions::default());

    let e = from_value(&json!({"rejectUnauthorized": "no"}), o).unwrap_err();
    assert_eq!(
        (e.kind, e.option.as_str()),
        (ConfigErrorKind::Type, "ssl.rejectUnauthorized")
    );
    let e = from_value(&json!({"ca": 5}), o).unwrap_err();
    assert_eq!(e.option, "ssl.ca");
    assert!(e.message.contains("received 5"));
    let e = from_value(&json!({"key": ["-----BEGIN PRIVATE KEY-----", 7]}), o).unwrap_err();
    assert_eq!(e.option, "ssl.key");
    assert!(e.message.contains("received a number"), "{}", e.message);
    let e = from_value(&json!({"key": {"pem": "SECRETKEY"}}), o).unwrap_err();
    assert!(!e.message.contains("SECRETKEY"));
    let e = from_value(&json!({"servername": 1}), o).unwrap_err();
    assert_eq!(e.option, "ssl.servername");
    // What this client cannot honour is refused, never ignored.
    for key in [
        "checkServerIdentity",
        "secureContext",
        "pfx",
        "ciphers",
        "ecdhCurve",
        "crl",
        "$skipHostCheck",
    ] {
        let e = from_value(&json!({ key: {"$function": true} }), o).unwrap_err();
        assert_eq!(
            (e.kind, e.option.clone()),
            (ConfigErrorKind::Range, format!("ssl.{key}"))
        );
        assert!(e.message.contains("not supported"), "{}", e.message);
    }
    assert!(from_value(&json!({"pfx": null, "passphrase": ""}), o).is_ok());
    // The connection string's chain-only marker.
    let t =
        enabled(from_value(&json!({"$skipHostCheck": true}), Origin::ConnString("ssl")).unwrap());
    assert!(!t.verify_host && t.reject_unauthorized);
    let e = from_value(&json!({"key": "K", "passphrase": "pw"}), o).unwrap_err();
    assert_eq!(
        (e.kind, e.option.as_str()),
        (ConfigErrorKind::Range, "ssl.passphrase")
    );
    assert!(!e.message.contains("pw\""));
}

#[test]
fn tls_versions() {
    let o = Origin::Opt("ssl");
    let versions = |v: Value| {
        from_value(&v, o).map(|c| {
            let t = enabled(c);
            (t.min_version, t.max_version)
        })
    };
    use TlsVersion::*;
    assert_eq!(versions(json!({})).unwrap(), (Tls12, Tls13));
    assert_eq!(
        versions(json!({"minVersion": "TLSv1.3"})).unwrap(),
        (Tls13, Tls13)
    );
    assert_eq!(
        versions(json!({"maxVersion": "TLSv1.2"})).unwrap(),
        (Tls12, Tls12)
    );
    assert_eq!(
        versions(json!({"minVersion": "TLSv1"})).unwrap(),
        (Tls12, Tls13)
    );
    let e = versions(json!({"maxVersion": "TLSv1.1"})).unwrap_err();
    assert_eq!(e.option, "ssl.maxVersion");
    let e = versions(json!({"minVersion": "TLSv1.3", "maxVersion": "TLSv1.2"})).unwrap_err();
    assert_eq!(e.option, "ssl.minVersion");
    let e = versions(json!({"minVersion": "SSLv3"})).unwrap_err();
    assert_eq!(
        (e.kind, e.option.as_str()),
        (ConfigErrorKind::Range, "ssl.minVersion")
    );
    let e = versions(json!({"minVersion": 12})).unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::Type);
}

// End to end, through `PoolConfig::from_options` (expected values from pg 8.23.1 under the
// same options and environment).

#[test]
fn ssl_precedence() {
    let no_verify = SslConfig::Enabled(TlsOptions {
        reject_unauthorized: false,
        ..TlsOptions::default()
    });
    let verify = SslConfig::Enabled(TlsOptions::default());
    // the string's sslmode replaces the whole ssl option (pg's well-known behaviour)
    let c = cfg(
        json!({"connectionString": "postgres://h/db?sslmode=require", "ssl": {"rejectUnauthorized": false}}),
        USER,
    );
    assert_eq!(c.connect.ssl, verify);
    // without ssl parameters in the string, the option stays
    let c = cfg(
        json!({"connectionString": "postgres://h/db", "ssl": {"rejectUnauthorized": false}}),
        USER,
    );
    assert_eq!(c.connect.ssl, no_verify);
    for (s, want) in [
        ("postgres://h/db?ssl=true", verify.clone()),
        ("postgres://h/db?ssl=1", verify.clone()),
        ("postgres://h/db?ssl=0", SslConfig::Disabled),
        ("postgres://h/db?ssl=no-verify", no_verify.clone()),
        ("postgres://h/db?sslmode=no-verify", no_verify.clone()),
        ("postgres://h/db?sslmode=disable", SslConfig::Disabled),
        ("postgres://h/db?sslmode=verify-full", verify.clone()),
        (
            "postgres://h/db?sslmode=prefer&uselibpqcompat=true",
            no_verify.clone(),
        ),
    ] {
        assert_eq!(
            cfg(json!({ "connectionString": s, "ssl": true }), USER)
                .connect
                .ssl,
            want,
            "{s}"
        );
    }
    // PGSSLMODE applies when neither the options nor the string say anything
    let c = cfg(
        json!({"connectionString": "postgres://h/db"}),
        &[("PGSSLMODE", "verify-full")],
    );
    assert_eq!(c.connect.ssl, verify);
    let c = cfg(json!({"ssl": "no-verify"}), USER);
    assert_eq!(c.connect.ssl, no_verify);
    let c = cfg(
        json!({"ssl": {"ca": [CA, CA], "cert": "C", "key": "K", "servername": "s"}}),
        USER,
    );
    match c.connect.ssl {
        SslConfig::Enabled(t) => {
            assert_eq!(t.ca, Some(format!("{CA}\n{CA}")));
            assert_eq!(t.key.as_ref().map(Secret::expose), Some("K"));
            assert_eq!(t.servername.as_deref(), Some("s"));
        }
        SslConfig::Disabled => panic!(),
    }
}

#[test]
fn ssl_files_from_connection_string() {
    let dir = std::env::temp_dir().join(format!("ldp-cfg-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, cert, key) = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&ca, CA).unwrap();
    std::fs::write(&cert, "CERT PEM").unwrap();
    std::fs::write(&key, "KEY PEM").unwrap();
    let s = format!(
        "postgres://h/db?sslrootcert={}&sslcert={}&sslkey={}",
        ca.display(),
        cert.display(),
        key.display()
    );
    let c = cfg(json!({ "connectionString": s }), USER);
    let expected = TlsOptions {
        reject_unauthorized: true,
        ca: Some(CA.into()),
        cert: Some("CERT PEM".into()),
        key: Some(Secret::new("KEY PEM")),
        servername: None,
        ..TlsOptions::default()
    };
    assert_eq!(c.connect.ssl, SslConfig::Enabled(expected));
    assert!(!format!("{c:?}").contains("KEY PEM"));
    let e = err(
        json!({"connectionString": format!("postgres://h/db?sslkey={}", dir.join("nope").display())}),
        USER,
    );
    assert_eq!(e.option, "connectionString");
    assert!(e.message.contains("sslkey"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_ca_that_is_not_pem_certificates_is_refused_naming_ssl_ca() {
    let o = Origin::Opt("ssl");
    let ok = enabled(from_value(&json!({ "ca": CA }), o).unwrap());
    assert_eq!(ok.ca.as_deref(), Some(CA));
    // Refused whether or not the certificate is verified: the option is wrong either way.
    for reject in [true, false] {
        for (ca, why) in [
            (json!("garbage"), "holds no PEM certificate"),
            (json!(["garbage", "more"]), "holds no PEM certificate"),
            (
                json!("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
                "cannot be used as a trust anchor",
            ),
            (
                json!("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"),
                "cannot be read",
            ),
            (
                json!([
                    CA,
                    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
                ]),
                "trust anchor",
            ),
        ] {
            let e = from_value(&json!({ "ca": ca, "rejectUnauthorized": reject }), o).unwrap_err();
            assert_eq!(
                (e.kind.clone(), e.option.as_str()),
                (ConfigErrorKind::Range, "ssl.ca"),
                "{ca}"
            );
            assert!(
                e.message.starts_with("Invalid option \"ssl.ca\": ") && e.message.contains(why),
                "{}",
                e.message
            );
        }
    }
    // Through the whole configuration, and from a connection string's sslrootcert.
    let e = err(json!({"ssl": {"ca": "garbage"}}), USER);
    assert_eq!(
        (e.kind, e.option.as_str()),
        (ConfigErrorKind::Range, "ssl.ca")
    );
    let dir = std::env::temp_dir().join(format!("ldp-cfg-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("garbage.pem");
    std::fs::write(&path, "garbage").unwrap();
    let e = err(
        json!({ "connectionString": format!("postgres://h/db?sslrootcert={}", path.display()) }),
        USER,
    );
    assert_eq!(e.option, "connectionString");
    assert!(
        e.message.contains("parameter \"sslrootcert\"")
            && !e.message.contains("ssl.ca")
            && e.message.contains("no PEM certificate"),
        "{}",
        e.message
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
