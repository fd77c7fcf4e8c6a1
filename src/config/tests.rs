//! End-to-end tests of `PoolConfig::from_options`: the defaults and the pool's own settings.
//! Expected values were produced by pg 8.23.1 (`new Client(opts).getStartupConf()`,
//! `connectionParameters`) and pg-pool (`new Pool(opts).options`) under the same
//! environment. The connection settings are tested next to their modules (`connect/`,
//! `connstring/`, `ssl/`).

use std::time::Duration;

use serde_json::{json, Value};

use super::fixtures::{cfg, err, params, USER};
use super::*;

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
        json!({"log": {"$function": true}, "types": {}, "whatever": [1],
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
