use super::*;
use serde_json::json;

use crate::config::fixtures::{cfg, env_of, err, params, USER};
use crate::config::{PoolConfig, Secret, TlsOptions};

fn no_env(_: &str) -> Option<String> {
    None
}

fn opts(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn resolve_json(v: Value, env: Env<'_>) -> Result<Resolved, ConfigError> {
    resolve_with(&opts(v), &Map::new(), env, &|| None, &|p| {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            p.to_string(),
        ))
    })
}

#[test]
fn ports() {
    let o = Origin::Opt("port");
    assert_eq!(port(&json!(5433), o).unwrap(), 5433);
    assert_eq!(port(&json!("5433"), o).unwrap(), 5433);
    assert_eq!(port(&json!(" 5433 "), o).unwrap(), 5433);
    assert_eq!(port(&json!(65535), o).unwrap(), 65535);
    for bad in [
        json!(65536),
        json!(-1),
        json!(5432.5),
        json!("0"),
        json!("54x"),
        json!("NaN"),
        json!("-1"),
    ] {
        let e = port(&bad, o).unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::Range, "{bad}");
        assert!(e.message.contains(&show(&bad)), "{}", e.message);
    }
    assert_eq!(
        port(&json!(true), o).unwrap_err().kind,
        ConfigErrorKind::Type
    );
    assert_eq!(
        port(&json!([1]), o).unwrap_err().kind,
        ConfigErrorKind::Type
    );
}

#[test]
fn port_sources() {
    let env = |k: &str| (k == "PGPORT").then(|| "6000".to_string());
    assert_eq!(resolve_json(json!({}), &env).unwrap().connect.port, 6000);
    assert_eq!(
        resolve_json(json!({"port": 0}), &env).unwrap().connect.port,
        6000
    );
    assert_eq!(
        resolve_json(json!({"port": ""}), &env)
            .unwrap()
            .connect
            .port,
        6000
    );
    assert_eq!(
        resolve_json(json!({"port": 7000}), &env)
            .unwrap()
            .connect
            .port,
        7000
    );
    assert_eq!(resolve_json(json!({}), &no_env).unwrap().connect.port, 5432);
    let bad = |k: &str| (k == "PGPORT").then(|| "abc".to_string());
    let e = resolve_json(json!({}), &bad).unwrap_err();
    assert_eq!(
        (e.kind, e.option.as_str()),
        (ConfigErrorKind::Range, "PGPORT")
    );
    assert!(e.message.contains("\"abc\""));
    let e = resolve_json(
        json!({"connectionString": "postgres://h/db?port=abc"}),
        &no_env,
    )
    .unwrap_err();
    assert_eq!(e.option, "connectionString");
    assert!(
        e.message.contains("\"port\"") && e.message.contains("\"abc\""),
        "{}",
        e.message
    );
}

#[test]
fn server_timeouts_are_formatted_like_pg() {
    let st = |v: Value| {
        let r = resolve_json(json!({"statement_timeout": v}), &no_env)?;
        Ok::<_, ConfigError>(
            r.connect
                .startup_params
                .iter()
                .find(|(k, _)| k == "statement_timeout")
                .map(|(_, v)| v.clone()),
        )
    };
    assert_eq!(st(json!(1000)).unwrap().as_deref(), Some("1000"));
    assert_eq!(st(json!(1000.9)).unwrap().as_deref(), Some("1000"));
    assert_eq!(st(json!("2000")).unwrap().as_deref(), Some("2000"));
    assert_eq!(st(json!(" 2000.5")).unwrap().as_deref(), Some("2000"));
    assert_eq!(st(json!(0.5)).unwrap().as_deref(), Some("0"));
    assert_eq!(st(json!("0")).unwrap().as_deref(), Some("0"));
    for none in [json!(0), json!(false), json!(null), json!("")] {
        assert_eq!(st(none.clone()).unwrap(), None, "{none}");
    }
    for (bad, kind) in [
        (json!(-1), ConfigErrorKind::Range),
        (json!("1e3"), ConfigErrorKind::Range),
        (json!("NaN"), ConfigErrorKind::Range),
        (json!("Infinity"), ConfigErrorKind::Range),
        (json!(1e21), ConfigErrorKind::Range),
        (json!("5s"), ConfigErrorKind::Type),
        (json!(true), ConfigErrorKind::Type),
        (json!({}), ConfigErrorKind::Type),
    ] {
        let e = st(bad.clone()).unwrap_err();
        assert_eq!(e.kind, kind, "{bad}");
        assert_eq!(e.option, "statement_timeout");
    }
}

#[test]
fn pgconnect_timeout() {
    let env = |v: &'static str| move |k: &str| (k == "PGCONNECT_TIMEOUT").then(|| v.to_string());
    assert_eq!(
        env_connect_timeout(&env("7")).unwrap(),
        Some(Duration::from_secs(7))
    );
    assert_eq!(env_connect_timeout(&env("0")).unwrap(), None);
    assert_eq!(env_connect_timeout(&env("")).unwrap(), None);
    assert_eq!(env_connect_timeout(&no_env).unwrap(), None);
    for bad in ["-1", "1.5", "x", "+3"] {
        let e = env_connect_timeout(&env(bad)).unwrap_err();
        assert_eq!(e.option, "PGCONNECT_TIMEOUT", "{bad}");
    }
    // connectionTimeoutMillis, when present (even 0 or null), wins over the variable
    let r = resolve_json(json!({}), &env("7")).unwrap();
    assert_eq!(
        (r.connection_timeout, r.connect.connect_timeout),
        (None, Some(Duration::from_secs(7)))
    );
    let r = resolve_json(json!({"connectionTimeoutMillis": 2500}), &env("7")).unwrap();
    let t = Some(Duration::from_millis(2500));
    assert_eq!((r.connection_timeout, r.connect.connect_timeout), (t, t));
    for off in [json!(0), json!(null)] {
        let r = resolve_json(json!({"connectionTimeoutMillis": off}), &env("7")).unwrap();
        assert_eq!(
            (r.connection_timeout, r.connect.connect_timeout),
            (None, None)
        );
    }
    for bad in [json!(-1), json!("x"), json!(false), json!("NaN")] {
        let e = resolve_json(json!({"connectionTimeoutMillis": bad}), &no_env).unwrap_err();
        assert_eq!(e.option, "connectionTimeoutMillis");
    }
}

#[test]
fn ssl_negotiation() {
    let negotiation = |r: Resolved| match r.connect.ssl {
        SslConfig::Enabled(tls) => Some(tls.negotiation),
        SslConfig::Disabled => None,
    };
    let r = resolve_json(json!({"sslnegotiation": "postgres"}), &no_env).unwrap();
    assert_eq!(negotiation(r), None);
    let e = resolve_json(json!({"sslnegotiation": "direct"}), &no_env).unwrap_err();
    assert!(e.message.contains("requires SSL"), "{}", e.message);
    let r = resolve_json(json!({"sslnegotiation": "direct", "ssl": true}), &no_env).unwrap();
    assert_eq!(negotiation(r), Some(SslNegotiation::Direct));
    let r = resolve_json(json!({"ssl": true}), &no_env).unwrap();
    assert_eq!(negotiation(r), Some(SslNegotiation::Postgres));
    // In a connection string, direct negotiation turns TLS on by itself (pg-connection-string).
    let r = resolve_json(
        json!({"connectionString": "postgres://h/d?sslnegotiation=direct"}),
        &no_env,
    )
    .unwrap();
    assert_eq!(negotiation(r), Some(SslNegotiation::Direct));
    let e = resolve_json(
        json!({"connectionString": "postgres://h/d?sslnegotiation=direct&sslmode=disable"}),
        &no_env,
    )
    .unwrap_err();
    assert_eq!(e.option, "connectionString");
    let env = |k: &str| (k == "PGSSLNEGOTIATION").then(|| "direct".to_string());
    let r = resolve_json(json!({"ssl": {"rejectUnauthorized": false}}), &env).unwrap();
    assert_eq!(negotiation(r), Some(SslNegotiation::Direct));
    let env = |k: &str| (k == "PGSSLNEGOTIATION").then(|| "bogus".to_string());
    let e = resolve_json(json!({}), &env).unwrap_err();
    assert_eq!(
        (e.kind, e.option.as_str()),
        (ConfigErrorKind::Range, "PGSSLNEGOTIATION")
    );
}

#[test]
fn scram_max_iterations_is_coerced_as_pg_does() {
    let max = |v: Value| {
        resolve_json(json!({ "scramMaxIterations": v }), &no_env)
            .unwrap()
            .connect
            .scram_max_iterations
    };
    let default = resolve_json(json!({}), &no_env).unwrap();
    assert_eq!(default.connect.scram_max_iterations, 100_000.0);
    assert_eq!(max(json!(4096)), 4096.0);
    assert_eq!(max(json!(0)), 0.0);
    assert_eq!(max(json!(" 5000 ")), 5000.0);
    assert_eq!(max(json!(-1)), -1.0);
    for ignored in [
        json!(null),
        json!(""),
        json!("many"),
        json!("NaN"),
        json!(true),
    ] {
        assert_eq!(max(ignored), 100_000.0);
    }
    // Read from the options only, as pg's Client reads it, never from the string.
    let r = resolve_json(
        json!({"connectionString": "postgres://h/d?scramMaxIterations=1"}),
        &no_env,
    )
    .unwrap();
    assert_eq!(r.connect.scram_max_iterations, 100_000.0);
}

#[test]
fn socket_options_come_from_the_options_not_the_string() {
    let r = resolve_json(
        json!({"connectionString": "postgres://h/d?keepAlive=true&connectionTimeoutMillis=5",
               "keepAliveInitialDelayMillis": 1500}),
        &no_env,
    )
    .unwrap();
    assert!(!r.connect.keep_alive);
    assert_eq!(
        r.connect.keep_alive_initial_delay,
        Duration::from_millis(1500)
    );
    assert_eq!(r.connection_timeout, None);
    let e = resolve_json(json!({"keepAlive": "yes"}), &no_env).unwrap_err();
    assert_eq!(
        (e.kind, e.option.as_str()),
        (ConfigErrorKind::Type, "keepAlive")
    );
    let e = resolve_json(json!({"keepAliveInitialDelayMillis": -5}), &no_env).unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::Range);
}

#[test]
fn types_of_string_settings() {
    for key in [
        "host",
        "user",
        "database",
        "options",
        "application_name",
        "fallback_application_name",
        "client_encoding",
    ] {
        let e = resolve_json(json!({ key: 5 }), &no_env).unwrap_err();
        assert_eq!((e.kind, e.option.as_str()), (ConfigErrorKind::Type, key));
        assert!(e.message.contains("received 5"));
        // falsy values fall through to env/defaults, as in pg
        assert!(resolve_json(json!({ key: "" }), &no_env).is_ok());
        assert!(resolve_json(json!({ key: null }), &no_env).is_ok());
    }
    let e = resolve_json(json!({"replication": {}}), &no_env).unwrap_err();
    assert_eq!(e.option, "replication");
    let e = resolve_json(json!({"connectionString": 5}), &no_env).unwrap_err();
    assert_eq!(
        (e.kind, e.option.as_str()),
        (ConfigErrorKind::Type, "connectionString")
    );
    assert!(resolve_json(json!({"connectionString": ""}), &no_env).is_ok());
}

// End to end, through `PoolConfig::from_options` (expected values from pg 8.23.1 under the
// same options and environment).

#[test]
fn the_process_account_is_the_user_when_nothing_names_one() {
    let account = || Some("acct".to_string());
    let with = |opts: Value, env: &[(&str, &str)]| {
        let c = PoolConfig::from_options_with(&opts, &Value::Null, &env_of(env), &account).unwrap();
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
