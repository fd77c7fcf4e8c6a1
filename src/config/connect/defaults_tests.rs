//! pg's global defaults (`pg.defaults`) as a layer: the merged options (the connection string
//! over the options) > the `PG*` variable > `pg.defaults[key]` > pg's stock default, each
//! value validated as an option is and named `pg.defaults.<key>` when it is wrong.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use crate::config::error::ConfigErrorKind;
use crate::config::fixtures::{cfg, cfg_under, err_under, params, USER};
use crate::config::{
    Host, PasswordSpec, PoolConfig, Secret, SslConfig, SslNegotiation, TlsOptions,
};

fn param(c: &PoolConfig, key: &str) -> Option<String> {
    c.connect.startup_param(key)
}

fn env_with<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = USER.to_vec();
    v.extend_from_slice(pairs);
    v
}

#[test]
fn nothing_changes_without_pg_defaults() {
    assert_eq!(cfg_under(json!({}), json!({}), USER), cfg(json!({}), USER));
    assert_eq!(
        cfg_under(json!({}), Value::Null, USER),
        cfg(json!({}), USER)
    );
    assert!(cfg(json!({}), USER).from_pg_defaults.is_empty());
}

#[test]
fn string_settings_take_each_layer_in_pg_order() {
    // (key, its PG* variable, what the connection string calls it)
    let cases = [
        ("host", Some("PGHOST")),
        ("user", Some("PGUSER")),
        ("database", Some("PGDATABASE")),
        ("application_name", Some("PGAPPNAME")),
        ("options", Some("PGOPTIONS")),
        ("fallback_application_name", None),
    ];
    let read = |c: &PoolConfig, key: &str| -> String {
        match key {
            "host" => match &c.connect.host {
                Host::Tcp(h) => h.clone(),
                Host::Unix(d) => d.to_string_lossy().into_owned(),
            },
            "user" => c.connect.user.clone(),
            "database" => c.connect.database.clone(),
            // fallback_application_name is sent as application_name
            "fallback_application_name" => param(c, "application_name").unwrap_or_default(),
            k => param(c, k).unwrap_or_default(),
        }
    };
    for (key, var) in cases {
        let d = json!({ key: "from-defaults" });
        // pg.defaults over the stock default
        let c = cfg_under(json!({}), d.clone(), USER);
        assert_eq!(read(&c, key), "from-defaults", "{key}");
        assert_eq!(
            c.from_pg_defaults,
            BTreeSet::from([key.to_string()]),
            "{key}"
        );
        // the variable over pg.defaults
        if let Some(var) = var {
            let c = cfg_under(json!({}), d.clone(), &env_with(&[(var, "from-env")]));
            assert_eq!(read(&c, key), "from-env", "{key}");
            assert!(c.from_pg_defaults.is_empty(), "{key}");
        }
        // the option over both; a falsy option is not given (pg's `if (config[key])`)
        let env = var.map(|v| vec![(v, "from-env")]).unwrap_or_default();
        let c = cfg_under(json!({ key: "from-option" }), d.clone(), &env_with(&env));
        assert_eq!(read(&c, key), "from-option", "{key}");
        if var.is_none() {
            let c = cfg_under(json!({ key: "" }), d.clone(), USER);
            assert_eq!(read(&c, key), "from-defaults", "{key}");
        }
    }
    // The connection string wins over the option, and so over pg.defaults.
    let c = cfg_under(
        json!({"connectionString": "postgres://cu@ch/cd?application_name=ca",
               "host": "oh", "user": "ou", "application_name": "oa"}),
        json!({"host": "dh", "user": "du", "database": "dd", "application_name": "da"}),
        USER,
    );
    assert_eq!(c.connect.host, Host::Tcp("ch".into()));
    assert_eq!(
        (c.connect.user.as_str(), c.connect.database.as_str()),
        ("cu", "cd")
    );
    assert_eq!(c.connect.application_name(), Some("ca"));
    assert!(c.from_pg_defaults.is_empty());
    // A socket directory from pg.defaults.host.
    let c = cfg_under(json!({}), json!({"host": "/run/pg"}), USER);
    assert_eq!(c.connect.host, Host::Unix(PathBuf::from("/run/pg")));
}

#[test]
fn user_and_database() {
    // pg.defaults.user stands where pg's stock default (USER) stands: below PGUSER.
    let c = cfg_under(json!({}), json!({"user": "du"}), USER);
    assert_eq!(
        (c.connect.user.as_str(), c.connect.database.as_str()),
        ("du", "du")
    );
    let c = cfg_under(
        json!({}),
        json!({"user": "du"}),
        &env_with(&[("PGUSER", "pu")]),
    );
    assert_eq!(c.connect.user, "pu");
    let c = cfg_under(
        json!({}),
        json!({"user": "du", "database": "dd"}),
        &env_with(&[("PGDATABASE", "pd")]),
    );
    assert_eq!(
        (c.connect.user.as_str(), c.connect.database.as_str()),
        ("du", "pd")
    );
    assert_eq!(
        params(&c)[..2],
        [("user", "du"), ("database", "pd")],
        "the startup message says so too"
    );
}

#[test]
fn port_takes_each_layer() {
    for d in [json!(6001), json!("6001")] {
        let c = cfg_under(json!({}), json!({ "port": d }), USER);
        assert_eq!(c.connect.port, 6001);
    }
    let d = json!({"port": 6001});
    let c = cfg_under(json!({}), d.clone(), &env_with(&[("PGPORT", "6002")]));
    assert_eq!(c.connect.port, 6002);
    let c = cfg_under(
        json!({"port": 6003}),
        d.clone(),
        &env_with(&[("PGPORT", "6002")]),
    );
    assert_eq!(c.connect.port, 6003);
    let c = cfg_under(
        json!({"connectionString": "postgres://h:6004/d", "port": 6003}),
        d.clone(),
        USER,
    );
    assert_eq!(c.connect.port, 6004);
    assert_eq!(cfg(json!({}), USER).connect.port, 5432);
}

#[test]
fn password_takes_each_layer() {
    let d = json!({"password": "dp"});
    let c = cfg_under(json!({}), d.clone(), USER);
    assert_eq!(c.connect.password, PasswordSpec::Static(Secret::new("dp")));
    let c = cfg_under(json!({}), d.clone(), &env_with(&[("PGPASSWORD", "ep")]));
    assert_eq!(c.connect.password, PasswordSpec::Static(Secret::new("ep")));
    let c = cfg_under(json!({"password": "op"}), d.clone(), USER);
    assert_eq!(c.connect.password, PasswordSpec::Static(Secret::new("op")));
    // A function in pg.defaults is one too (the JS layer hands it over).
    let c = cfg_under(json!({}), json!({"password": {"$function": true}}), USER);
    assert_eq!(c.connect.password, PasswordSpec::Dynamic);
}

#[test]
fn ssl_option_then_pgsslmode_then_pg_defaults() {
    let enabled = SslConfig::Enabled(TlsOptions::default());
    let no_verify = SslConfig::Enabled(TlsOptions {
        reject_unauthorized: false,
        ..TlsOptions::default()
    });
    assert_eq!(
        cfg_under(json!({}), json!({"ssl": true}), USER).connect.ssl,
        enabled
    );
    assert_eq!(
        cfg_under(
            json!({}),
            json!({"ssl": {"rejectUnauthorized": false}}),
            USER
        )
        .connect
        .ssl,
        no_verify
    );
    assert_eq!(
        cfg_under(json!({}), json!({"ssl": "no-verify"}), USER)
            .connect
            .ssl,
        no_verify
    );
    // PGSSLMODE decides when set, even to disable.
    let c = cfg_under(
        json!({}),
        json!({"ssl": true}),
        &env_with(&[("PGSSLMODE", "disable")]),
    );
    assert_eq!(c.connect.ssl, SslConfig::Disabled);
    assert!(c.from_pg_defaults.is_empty());
    let c = cfg_under(
        json!({}),
        json!({"ssl": true}),
        &env_with(&[("PGSSLMODE", "no-verify")]),
    );
    assert_eq!(c.connect.ssl, no_verify);
    // An empty PGSSLMODE is unset.
    let c = cfg_under(
        json!({}),
        json!({"ssl": true}),
        &env_with(&[("PGSSLMODE", "")]),
    );
    assert_eq!(c.connect.ssl, enabled);
    assert_eq!(c.from_pg_defaults, BTreeSet::from(["ssl".to_string()]));
    // The option decides whenever it is there, even false or null (pg's typeof check).
    for off in [json!(false), json!(null)] {
        let c = cfg_under(json!({ "ssl": off }), json!({"ssl": true}), USER);
        assert_eq!(c.connect.ssl, SslConfig::Disabled, "{off}");
    }
    // And so does the connection string's sslmode.
    let c = cfg_under(
        json!({"connectionString": "postgres://h/d?sslmode=disable"}),
        json!({"ssl": true}),
        USER,
    );
    assert_eq!(c.connect.ssl, SslConfig::Disabled);
}

#[test]
fn sslnegotiation_from_pg_defaults() {
    let negotiation = |c: PoolConfig| match c.connect.ssl {
        SslConfig::Enabled(tls) => Some(tls.negotiation),
        SslConfig::Disabled => None,
    };
    let c = cfg_under(
        json!({}),
        json!({"ssl": true, "sslnegotiation": "direct"}),
        USER,
    );
    assert_eq!(negotiation(c), Some(SslNegotiation::Direct));
    let c = cfg_under(
        json!({}),
        json!({"ssl": true, "sslnegotiation": "direct"}),
        &env_with(&[("PGSSLNEGOTIATION", "postgres")]),
    );
    assert_eq!(negotiation(c), Some(SslNegotiation::Postgres));
    let e = err_under(json!({}), json!({"sslnegotiation": "direct"}), USER);
    assert_eq!(
        (e.kind, e.option.as_str()),
        (ConfigErrorKind::Range, "pg.defaults.sslnegotiation")
    );
    assert!(e.message.contains("requires SSL"), "{}", e.message);
}

#[test]
fn timeouts_and_binary_from_pg_defaults() {
    let d = json!({"statement_timeout": 5000, "lock_timeout": "700",
                   "idle_in_transaction_session_timeout": 900, "query_timeout": 250,
                   "binary": true});
    let c = cfg_under(json!({}), d.clone(), USER);
    assert_eq!(param(&c, "statement_timeout").as_deref(), Some("5000"));
    assert_eq!(param(&c, "lock_timeout").as_deref(), Some("700"));
    assert_eq!(
        param(&c, "idle_in_transaction_session_timeout").as_deref(),
        Some("900")
    );
    assert_eq!(c.query_timeout, Some(Duration::from_millis(250)));
    assert!(c.binary);
    assert_eq!(c.from_pg_defaults.len(), 5);
    // A truthy option wins; a falsy one (0, false) is not given, as pg's `val` reads it.
    let c = cfg_under(
        json!({"statement_timeout": 100, "query_timeout": 50, "binary": true}),
        d.clone(),
        USER,
    );
    assert_eq!(param(&c, "statement_timeout").as_deref(), Some("100"));
    assert_eq!(c.query_timeout, Some(Duration::from_millis(50)));
    assert!(!c.from_pg_defaults.contains("binary"));
    let c = cfg_under(
        json!({"statement_timeout": 0, "query_timeout": false, "binary": false}),
        d.clone(),
        USER,
    );
    assert_eq!(param(&c, "statement_timeout").as_deref(), Some("5000"));
    assert_eq!(c.query_timeout, Some(Duration::from_millis(250)));
    // pg's `config.binary || defaults.binary`: false does not turn pg.defaults.binary off.
    assert!(c.binary);
    // The connection string's timeout wins over pg.defaults'.
    let c = cfg_under(
        json!({"connectionString": "postgres://h/d?statement_timeout=10"}),
        d,
        USER,
    );
    assert_eq!(param(&c, "statement_timeout").as_deref(), Some("10"));
    // binary is the option's alone, never the connection string's (pg's Client).
    let c = cfg(
        json!({"connectionString": "postgres://h/d?binary=true"}),
        USER,
    );
    assert!(!c.binary);
    assert!(cfg(json!({"binary": true}), USER).binary);
}

#[test]
fn a_bad_pg_defaults_value_is_named_as_such() {
    for (d, kind, option) in [
        (
            json!({"port": "abc"}),
            ConfigErrorKind::Range,
            "pg.defaults.port",
        ),
        (
            json!({"port": 70000}),
            ConfigErrorKind::Range,
            "pg.defaults.port",
        ),
        (
            json!({"host": 5}),
            ConfigErrorKind::Type,
            "pg.defaults.host",
        ),
        (
            json!({"user": true}),
            ConfigErrorKind::Type,
            "pg.defaults.user",
        ),
        (
            json!({"application_name": ["a"]}),
            ConfigErrorKind::Type,
            "pg.defaults.application_name",
        ),
        (
            json!({"ssl": "bogus"}),
            ConfigErrorKind::Range,
            "pg.defaults.ssl",
        ),
        (
            json!({"ssl": {"ca": 5}}),
            ConfigErrorKind::Type,
            "pg.defaults.ssl.ca",
        ),
        (
            json!({"ssl": {"pfx": "x"}}),
            ConfigErrorKind::Range,
            "pg.defaults.ssl.pfx",
        ),
        (
            json!({"sslnegotiation": "sideways"}),
            ConfigErrorKind::Range,
            "pg.defaults.sslnegotiation",
        ),
        (
            json!({"statement_timeout": "5s"}),
            ConfigErrorKind::Type,
            "pg.defaults.statement_timeout",
        ),
        (
            json!({"lock_timeout": -1}),
            ConfigErrorKind::Range,
            "pg.defaults.lock_timeout",
        ),
        (
            json!({"query_timeout": -1}),
            ConfigErrorKind::Range,
            "pg.defaults.query_timeout",
        ),
        (
            json!({"binary": "yes"}),
            ConfigErrorKind::Type,
            "pg.defaults.binary",
        ),
        (
            json!({"client_encoding": 8}),
            ConfigErrorKind::Type,
            "pg.defaults.client_encoding",
        ),
        (
            json!({"password": 12345}),
            ConfigErrorKind::Type,
            "pg.defaults.password",
        ),
    ] {
        let e = err_under(json!({}), d.clone(), USER);
        assert_eq!((e.kind, e.option.as_str()), (kind, option), "{d}");
        assert!(
            e.message.starts_with(&format!("Invalid {option}:")),
            "{}",
            e.message
        );
    }
    let e = err_under(json!({}), json!({"port": "abc"}), USER);
    assert_eq!(
        e.message,
        "Invalid pg.defaults.port: expected a port number between 1 and 65535, received \"abc\""
    );
    // A password is described by its type only.
    let e = err_under(json!({}), json!({"password": 12345}), USER);
    assert!(!e.message.contains("12345"), "{}", e.message);
    // pg reads a default only when nothing above it gave a value: nor does this.
    let c = cfg_under(json!({"port": 5433}), json!({"port": "abc"}), USER);
    assert_eq!(c.connect.port, 5433);
    let c = cfg_under(
        json!({}),
        json!({"host": 5}),
        &env_with(&[("PGHOST", "eh")]),
    );
    assert_eq!(c.connect.host, Host::Tcp("eh".into()));
    // pg.defaults itself must be an object.
    let e = err_under(json!({}), json!(5), USER);
    assert_eq!(e.option, "pg.defaults");
}
