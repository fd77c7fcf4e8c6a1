//! End-to-end tests of `PoolConfig::from_options`. Expected connection values were
//! produced by pg 8.23.1 (`new Client(opts).getStartupConf()`, `connectionParameters`)
//! and pg-pool (`new Pool(opts).options`) under the same environment.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use super::*;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k: &str| map.get(k).cloned()
}

/// The account name tests run under, when no variable names a user.
fn no_account() -> Option<String> {
    None
}

fn cfg(opts: Value, env: &[(&str, &str)]) -> PoolConfig {
    PoolConfig::from_options_with(&opts, &env_of(env), &no_account).unwrap()
}

fn err(opts: Value, env: &[(&str, &str)]) -> ConfigError {
    PoolConfig::from_options_with(&opts, &env_of(env), &no_account).unwrap_err()
}

fn params(c: &PoolConfig) -> Vec<(&str, &str)> {
    c.connect
        .startup_params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

const USER: &[(&str, &str)] = &[("USER", "me")];

#[test]
fn defaults() {
    let c = cfg(Value::Null, USER);
    assert_eq!(c, cfg(json!({}), USER));
    assert_eq!(c.connect.host, Host::Tcp("localhost".into()));
    assert_eq!(c.connect.port, 5432);
    assert_eq!(
        (c.connect.user.as_str(), c.connect.database.as_str()),
        ("me", "me")
    );
    assert_eq!(c.connect.password, PasswordSpec::None);
    assert_eq!(c.connect.ssl, SslConfig::Disabled);
    assert_eq!(
        params(&c),
        [
            ("user", "me"),
            ("database", "me"),
            ("client_encoding", "UTF8")
        ]
    );
    assert_eq!(c.connect.application_name(), None);
    assert!(!c.connect.keep_alive);
    assert_eq!(c.connect.keep_alive_initial_delay, Duration::ZERO);
    assert_eq!(c.connect.connect_timeout, None);
    assert_eq!((c.max, c.min), (10, 0));
    assert_eq!(c.idle_timeout, Some(Duration::from_millis(10_000)));
    assert_eq!(c.connection_timeout, None);
    assert_eq!(c.max_uses, None);
    assert_eq!(c.max_lifetime, None);
    assert_eq!(c.max_waiting, None);
    assert_eq!(c.statement_cache_size, 100);
    assert_eq!(c.query_timeout, None);
    assert_eq!(c.end_timeout, Duration::from_millis(10_000));
    assert_eq!(
        c.leak,
        LeakConfig {
            threshold: Some(Duration::from_millis(30_000)),
            check_interval: Duration::from_millis(1_000),
            max_leaks_before_alert: 1,
            force_release_after: Some(Duration::from_millis(300_000)),
        }
    );
    assert_eq!(
        c.metrics,
        MetricsConfig {
            history_size: 100,
            interval: Duration::from_millis(10_000)
        }
    );
    // No USER and no account name at all: an empty name (the server refuses it).
    let c = cfg(json!({}), &[]);
    assert_eq!(
        (c.connect.user.as_str(), c.connect.database.as_str()),
        ("", "")
    );
}

#[test]
fn the_process_account_is_the_user_when_nothing_names_one() {
    let account = || Some("acct".to_string());
    let with = |opts: Value, env: &[(&str, &str)]| {
        let c = PoolConfig::from_options_with(&opts, &env_of(env), &account).unwrap();
        (c.connect.user, c.connect.database)
    };
    // Only a password in the environment: pg would send no user; libpq uses the account.
    assert_eq!(
        with(json!({}), &[("PGPASSWORD", "pw")]),
        ("acct".into(), "acct".into())
    );
    // pg's own defaults still come first.
    assert_eq!(with(json!({}), &[("USER", "me")]).0, "me");
    assert_eq!(with(json!({}), &[("USER", "me"), ("PGUSER", "pu")]).0, "pu");
    assert_eq!(with(json!({"user": "u"}), &[]).0, "u");
    assert_eq!(
        with(json!({"connectionString": "postgres://cs@h/d"}), &[]).0,
        "cs"
    );
    assert_eq!(
        with(json!({"database": "db"}), &[]),
        ("acct".into(), "db".into())
    );
}

#[test]
fn every_environment_variable() {
    let env = [
        ("USER", "me"),
        ("PGHOST", "/tmp"),
        ("PGPORT", "6543"),
        ("PGUSER", "pu"),
        ("PGPASSWORD", "pp"),
        ("PGDATABASE", "pd"),
        ("PGSSLMODE", "no-verify"),
        ("PGAPPNAME", "pa"),
        ("PGCONNECT_TIMEOUT", "7"),
    ];
    let c = cfg(json!({}), &env);
    assert_eq!(c.connect.host, Host::Unix(PathBuf::from("/tmp")));
    assert_eq!(c.connect.port, 6543);
    assert_eq!(c.connect.user, "pu");
    assert_eq!(c.connect.password, PasswordSpec::Static(Secret::new("pp")));
    assert_eq!(c.connect.database, "pd");
    assert_eq!(
        c.connect.ssl,
        SslConfig::Enabled(TlsOptions {
            reject_unauthorized: false,
            ..TlsOptions::default()
        })
    );
    assert_eq!(
        params(&c),
        [
            ("user", "pu"),
            ("database", "pd"),
            ("application_name", "pa"),
            ("client_encoding", "UTF8")
        ]
    );
    assert_eq!(c.connect.application_name(), Some("pa"));
    assert_eq!(c.connect.connect_timeout, Some(Duration::from_secs(7)));
    assert_eq!(c.connection_timeout, None);
    // empty variables count as unset
    let c = cfg(
        json!({}),
        &[
            ("USER", "me"),
            ("PGUSER", ""),
            ("PGHOST", ""),
            ("PGPORT", ""),
        ],
    );
    assert_eq!(c.connect.user, "me");
    assert_eq!(c.connect.host, Host::Tcp("localhost".into()));
    assert_eq!(c.connect.port, 5432);
}

#[test]
fn options_win_over_environment() {
    let env = [
        ("USER", "me"),
        ("PGHOST", "/tmp"),
        ("PGPORT", "6543"),
        ("PGUSER", "pu"),
        ("PGPASSWORD", "pp"),
        ("PGDATABASE", "pd"),
        ("PGSSLMODE", "require"),
        ("PGAPPNAME", "pa"),
        ("PGCONNECT_TIMEOUT", "7"),
    ];
    let c = cfg(
        json!({"host": "h", "port": "7000", "user": "u", "password": "p", "database": "d",
               "ssl": false, "application_name": "a", "connectionTimeoutMillis": 2500}),
        &env,
    );
    assert_eq!(c.connect.host, Host::Tcp("h".into()));
    assert_eq!(c.connect.port, 7000);
    assert_eq!(c.connect.password, PasswordSpec::Static(Secret::new("p")));
    assert_eq!(c.connect.ssl, SslConfig::Disabled);
    assert_eq!(
        params(&c),
        [
            ("user", "u"),
            ("database", "d"),
            ("application_name", "a"),
            ("client_encoding", "UTF8")
        ]
    );
    // ms precision, not pg's floor-seconds for libpq
    assert_eq!(c.connect.connect_timeout, Some(Duration::from_millis(2500)));
    assert_eq!(c.connection_timeout, Some(Duration::from_millis(2500)));
    // ssl: null is "given" too (pg's typeof check), so PGSSLMODE is not consulted
    assert_eq!(
        cfg(json!({"ssl": null}), &env).connect.ssl,
        SslConfig::Disabled
    );
    assert_eq!(
        cfg(json!({}), &env).connect.ssl,
        SslConfig::Enabled(TlsOptions::default())
    );
}

#[test]
fn connection_string_overrides_options() {
    let c = cfg(
        json!({
            "connectionString": "postgres://h:5433/db?application_name=csapp&statement_timeout=1000&query_timeout=500",
            "user": "u", "password": "p", "port": 1, "application_name": "a",
            "lock_timeout": 2000.7, "idle_in_transaction_session_timeout": "3000",
            "options": "-c x=1", "replication": "database", "fallback_application_name": "fb",
            "keepAlive": true, "keepAliveInitialDelayMillis": 1500
        }),
        &[("USER", "me"), ("PGUSER", "pu"), ("PGPASSWORD", "pp")],
    );
    // the string's empty user/password/port replace the options', so env/defaults apply
    assert_eq!(c.connect.user, "pu");
    assert_eq!(c.connect.password, PasswordSpec::Static(Secret::new("pp")));
    assert_eq!(c.connect.port, 5433);
    assert_eq!(c.connect.host, Host::Tcp("h".into()));
    assert_eq!(
        params(&c),
        [
            ("user", "pu"),
            ("database", "db"),
            ("application_name", "csapp"),
            ("replication", "database"),
            ("statement_timeout", "1000"),
            ("lock_timeout", "2000"),
            ("idle_in_transaction_session_timeout", "3000"),
            ("options", "-c x=1"),
            ("client_encoding", "UTF8"),
        ]
    );
    assert_eq!(c.query_timeout, Some(Duration::from_millis(500)));
    assert!(c.connect.keep_alive);
    assert_eq!(
        c.connect.keep_alive_initial_delay,
        Duration::from_millis(1500)
    );

    // a password function is discarded by a connection string, exactly as in pg
    let c = cfg(
        json!({"connectionString": "postgres://h/db", "password": {"$function": true}}),
        USER,
    );
    assert_eq!(c.connect.password, PasswordSpec::None);
    let c = cfg(
        json!({"connectionString": "postgres://u:secret@h/db"}),
        USER,
    );
    assert_eq!(
        c.connect.password,
        PasswordSpec::Static(Secret::new("secret"))
    );

    // the socket-directory form only replaces host and database
    let c = cfg(
        json!({"connectionString": "/var/run/postgresql mydb", "user": "u", "host": "h", "database": "d"}),
        USER,
    );
    assert_eq!(c.connect.host, Host::Unix("/var/run/postgresql".into()));
    assert_eq!(
        (c.connect.user.as_str(), c.connect.database.as_str()),
        ("u", "mydb")
    );
    let c = cfg(
        json!({"connectionString": "/var/run/postgresql", "database": "d"}),
        USER,
    );
    assert_eq!(c.connect.database, "me");
}

#[test]
fn connection_string_socket_forms() {
    for (s, dir, db) in [
        ("socket:/var/run/pg?db=x&encoding=utf8", "/var/run/pg", "x"),
        (
            "postgres://%2Fvar%2Frun%2Fpostgresql/db",
            "/var/run/postgresql",
            "db",
        ),
        ("postgres://localhost/db?host=/tmp/sock", "/tmp/sock", "db"),
        ("/var/run/postgresql db", "/var/run/postgresql", "db"),
    ] {
        let c = cfg(json!({ "connectionString": s }), USER);
        assert_eq!(c.connect.host, Host::Unix(dir.into()), "{s}");
        assert_eq!(c.connect.database, db, "{s}");
    }
    let c = cfg(
        json!({"connectionString": "postgres://[::1]:5433/db"}),
        USER,
    );
    assert_eq!(c.connect.host, Host::Tcp("::1".into()));
    // an empty host in the string falls back to PGHOST, then localhost
    let c = cfg(
        json!({"connectionString": "postgres://u:p@/db", "host": "ignored"}),
        &[("PGHOST", "envhost")],
    );
    assert_eq!(c.connect.host, Host::Tcp("envhost".into()));
}

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
        json!({"ssl": {"ca": ["A", "B"], "cert": "C", "key": "K", "servername": "s"}}),
        USER,
    );
    match c.connect.ssl {
        SslConfig::Enabled(t) => {
            assert_eq!(t.ca.as_deref(), Some("A\nB"));
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
    std::fs::write(&ca, "CA PEM").unwrap();
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
        ca: Some("CA PEM".into()),
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
fn password_forms() {
    assert_eq!(
        cfg(json!({"password": "pw"}), USER).connect.password,
        PasswordSpec::Static(Secret::new("pw"))
    );
    assert_eq!(
        cfg(json!({"password": {"$function": true}}), USER)
            .connect
            .password,
        PasswordSpec::Dynamic
    );
    // '' and null fall through to PGPASSWORD, like pg
    for p in [json!(""), json!(null)] {
        let c = cfg(json!({ "password": p }), &[("PGPASSWORD", "env")]);
        assert_eq!(c.connect.password, PasswordSpec::Static(Secret::new("env")));
    }
    let e = err(json!({"password": 12345}), USER);
    assert_eq!(
        (e.kind, e.option.as_str()),
        (ConfigErrorKind::Type, "password")
    );
    assert!(!e.message.contains("12345"), "{}", e.message);
    assert!(e.message.contains("received a number"));
}

#[test]
fn secrets_are_redacted() {
    let c = cfg(
        json!({"password": "hunter2", "ssl": {"key": "PRIVATEKEY"}, "connectionString": "postgres://u:s3cr3t@h/db"}),
        USER,
    );
    let dbg = format!("{c:?} {:#?}", c.connect);
    for s in ["hunter2", "PRIVATEKEY", "s3cr3t"] {
        assert!(!dbg.contains(s), "{s} leaked: {dbg}");
    }
    assert!(dbg.contains("Static(********)"), "{dbg}");
    assert_eq!(Secret::new("x").to_string(), "********");
    assert_eq!(format!("{:?}", Secret::new("x")), "********");
    // errors about a connection string never contain it
    let e = err(
        json!({"connectionString": "postgres://u:s3cr3t@h:99999/db"}),
        USER,
    );
    assert!(!e.message.contains("s3cr3t"));
    let e = err(
        json!({"connectionString": "postgres://u:s3cr3t@h/db?sslmode=bogus"}),
        USER,
    );
    assert!(!e.message.contains("s3cr3t") && e.message.contains("bogus"));
}

#[test]
fn pool_sizes() {
    assert_eq!(cfg(json!({"max": 3}), USER).max, 3);
    assert_eq!(cfg(json!({"max": "3"}), USER).max, 3);
    assert_eq!(cfg(json!({"poolSize": 4}), USER).max, 4);
    assert_eq!(cfg(json!({"max": 0, "poolSize": 4}), USER).max, 4);
    assert_eq!(cfg(json!({"max": null}), USER).max, 10);
    assert_eq!(cfg(json!({"max": 5, "poolSize": 4}), USER).max, 5);
    assert_eq!(cfg(json!({"min": 2, "max": 2}), USER).min, 2);
    assert_eq!(cfg(json!({"min": 0}), USER).min, 0);
    let e = err(json!({"max": -1}), USER);
    assert_eq!((e.kind, e.option.as_str()), (ConfigErrorKind::Range, "max"));
    assert_eq!(
        e.message,
        "Invalid option \"max\": expected a positive integer, received -1"
    );
    for (bad, kind) in [
        (json!(1.5), ConfigErrorKind::Range),
        (json!("NaN"), ConfigErrorKind::Range),
        (json!("Infinity"), ConfigErrorKind::Range),
        (json!("0"), ConfigErrorKind::Range),
        (json!("ten"), ConfigErrorKind::Type),
        (json!(true), ConfigErrorKind::Type),
        (json!(false), ConfigErrorKind::Type),
        (json!(""), ConfigErrorKind::Type),
    ] {
        assert_eq!(err(json!({ "max": bad }), USER).kind, kind, "{bad}");
        assert_eq!(err(json!({ "poolSize": bad }), USER).option, "poolSize");
    }
    let e = err(json!({"min": 11}), USER);
    assert_eq!((e.kind, e.option.as_str()), (ConfigErrorKind::Range, "min"));
    assert!(
        e.message.contains("max (10)") && e.message.contains("received 11"),
        "{}",
        e.message
    );
    assert_eq!(err(json!({"min": -1}), USER).kind, ConfigErrorKind::Range);
    assert_eq!(err(json!({"min": false}), USER).kind, ConfigErrorKind::Type);
    assert_eq!(
        err(json!({"maxUses": false}), USER).kind,
        ConfigErrorKind::Type
    );
    assert_eq!(
        err(json!({"maxLifetimeSeconds": ""}), USER).kind,
        ConfigErrorKind::Type
    );
    assert_eq!(
        cfg(json!({"maxLifetimeSeconds": 0}), USER).max_lifetime,
        None
    );
}

#[test]
fn pool_timers_and_limits() {
    let c = cfg(
        json!({"idleTimeoutMillis": 0, "maxUses": 7, "maxLifetimeSeconds": 1.5,
               "maxWaiting": 0, "statementCacheSize": 0,
               "query_timeout": 250, "endTimeoutMs": 0}),
        USER,
    );
    assert_eq!(c.idle_timeout, None);
    assert_eq!(c.max_uses, Some(7));
    assert_eq!(c.max_lifetime, Some(Duration::from_millis(1500)));
    assert_eq!(c.max_waiting, Some(0));
    assert_eq!(c.statement_cache_size, 0);
    assert_eq!(c.query_timeout, Some(Duration::from_millis(250)));
    assert_eq!(c.end_timeout, Duration::ZERO);
    // pg-pool: idleTimeoutMillis null disables (only undefined gets the default)
    assert_eq!(
        cfg(json!({"idleTimeoutMillis": null}), USER).idle_timeout,
        None
    );
    assert_eq!(
        cfg(json!({"idleTimeoutMillis": 500}), USER).idle_timeout,
        Some(Duration::from_millis(500))
    );
    for inf in [json!("Infinity"), json!(0), json!(null)] {
        assert_eq!(cfg(json!({ "maxUses": inf }), USER).max_uses, None);
    }
    assert_eq!(
        cfg(json!({"maxWaiting": "Infinity"}), USER).max_waiting,
        None
    );
    for off in [json!(false), json!(0), json!(null), json!("")] {
        assert_eq!(
            cfg(json!({ "query_timeout": off }), USER).query_timeout,
            None
        );
    }
    for (key, bad, kind) in [
        ("idleTimeoutMillis", json!(-1), ConfigErrorKind::Range),
        ("idleTimeoutMillis", json!("soon"), ConfigErrorKind::Type),
        ("maxUses", json!(-1), ConfigErrorKind::Range),
        ("maxUses", json!(2.5), ConfigErrorKind::Range),
        ("maxUses", json!("NaN"), ConfigErrorKind::Range),
        ("maxLifetimeSeconds", json!(-1), ConfigErrorKind::Range),
        (
            "maxLifetimeSeconds",
            json!("Infinity"),
            ConfigErrorKind::Range,
        ),
        ("maxWaiting", json!(-1), ConfigErrorKind::Range),
        ("maxWaiting", json!({}), ConfigErrorKind::Type),
        ("tagLimits", json!(3), ConfigErrorKind::Type),
        ("statementCacheSize", json!(-1), ConfigErrorKind::Range),
        ("query_timeout", json!(-5), ConfigErrorKind::Range),
        ("query_timeout", json!(true), ConfigErrorKind::Type),
        ("endTimeoutMs", json!("Infinity"), ConfigErrorKind::Range),
    ] {
        let e = err(json!({ key: bad }), USER);
        assert_eq!(
            (e.kind.clone(), e.option.as_str()),
            (kind, key),
            "{key}={bad}"
        );
        assert!(
            e.message.contains(key) && e.message.contains(&super::value::show(&bad)),
            "{}",
            e.message
        );
    }
}

#[test]
fn leak_and_metrics_options() {
    let c = cfg(
        json!({"leakThresholdMs": 0, "checkIntervalMs": 250, "maxLeaksBeforeAlert": 3,
               "forceReleaseAfterMs": 0, "metricsHistorySize": 0, "metricsIntervalMs": 100}),
        USER,
    );
    assert_eq!(
        c.leak,
        LeakConfig {
            threshold: None,
            check_interval: Duration::from_millis(250),
            max_leaks_before_alert: 3,
            force_release_after: None,
        }
    );
    assert_eq!(
        c.metrics,
        MetricsConfig {
            history_size: 0,
            interval: Duration::from_millis(100)
        }
    );
    let c = cfg(
        json!({"leakThresholdMs": "Infinity", "forceReleaseAfterMs": "Infinity"}),
        USER,
    );
    assert_eq!((c.leak.threshold, c.leak.force_release_after), (None, None));
    assert_eq!(
        cfg(json!({"leakThresholdMs": null}), USER).leak.threshold,
        Some(Duration::from_secs(30))
    );
    for (key, bad, kind) in [
        ("leakThresholdMs", json!(-1), ConfigErrorKind::Range),
        ("leakThresholdMs", json!("NaN"), ConfigErrorKind::Range),
        ("checkIntervalMs", json!(0), ConfigErrorKind::Range),
        ("checkIntervalMs", json!("Infinity"), ConfigErrorKind::Range),
        ("checkIntervalMs", json!("fast"), ConfigErrorKind::Type),
        ("maxLeaksBeforeAlert", json!(0), ConfigErrorKind::Range),
        ("forceReleaseAfterMs", json!(-1), ConfigErrorKind::Range),
        ("metricsHistorySize", json!(1.5), ConfigErrorKind::Range),
        ("metricsIntervalMs", json!(0), ConfigErrorKind::Range),
    ] {
        let e = err(json!({ key: bad }), USER);
        assert_eq!(
            (e.kind.clone(), e.option.as_str()),
            (kind, key),
            "{key}={bad}"
        );
        assert!(e.message.starts_with(&format!("Invalid option \"{key}\"")));
    }
}

#[test]
fn bad_inputs() {
    let e = err(json!("postgres://h/db"), USER);
    assert_eq!(
        (e.kind, e.option.as_str()),
        (ConfigErrorKind::Type, "options")
    );
    let e = err(json!({}), &[("PGSSLMODE", "bogus")]);
    assert_eq!(e.option, "PGSSLMODE");
    let e = err(json!({"ssl": "false"}), USER);
    assert_eq!((e.kind, e.option.as_str()), (ConfigErrorKind::Range, "ssl"));
    let e = err(json!({"ssl": 1}), USER);
    assert_eq!(e.kind, ConfigErrorKind::Type);
    let e = err(json!({"port": 70000}), USER);
    assert_eq!(
        e.message,
        "Invalid option \"port\": expected a port number between 1 and 65535, received 70000"
    );
    // unknown keys are ignored, including functions the JS layer marks and the options only
    // the JS layer reads (it validates them; the core never does)
    let c = cfg(
        json!({"log": {"$function": true}, "types": {}, "whatever": [1], "binary": true,
               "captureStacks": 1, "stackTraceLimit": -1, "alertBufferSize": 0,
               "allowExitOnIdle": "yes"}),
        USER,
    );
    assert_eq!(c, cfg(json!({}), USER));
    // replication forms
    let c = cfg(
        json!({"replication": true, "fallback_application_name": "fb"}),
        USER,
    );
    assert_eq!(
        params(&c),
        [
            ("user", "me"),
            ("database", "me"),
            ("application_name", "fb"),
            ("replication", "true"),
            ("client_encoding", "UTF8")
        ]
    );
    assert_eq!(c.connect.application_name(), Some("fb"));
}

#[test]
fn tag_limits_are_positive_integers_per_tag() {
    let c = cfg(json!({ "tagLimits": { "export": 2, "batch": 1 } }), USER);
    assert_eq!(
        c.tag_limits.into_iter().collect::<Vec<_>>(),
        vec![("batch".to_string(), 1), ("export".to_string(), 2)]
    );
    assert!(cfg(json!({}), USER).tag_limits.is_empty());
    for bad in [json!(0), json!(1.5), json!(-1), json!("two")] {
        let e = err(json!({ "tagLimits": { "export": bad } }), USER);
        assert_eq!(e.option, "tagLimits.export", "{bad}");
    }
}
