//! Connection settings: pg's `ConnectionParameters` + `Client` semantics.
//!
//! The connection string is merged over the options exactly like pg's
//! `Object.assign({}, config, parse(connectionString))`; each setting is then taken from
//! the merged object if truthy, else from its environment variable, else pg's default.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use super::connstring;
use super::error::{ConfigError, ConfigErrorKind, Origin};
use super::value::{self, is_function, show, show_type, truthy};
use super::{ConnectConfig, Host, PasswordSpec, Secret, SslConfig, SslNegotiation};

/// The environment lookup passed to [`super::PoolConfig::from_options`].
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// What the connection options resolve to.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub connect: ConnectConfig,
    /// `connectionTimeoutMillis` (pool-side wait and connect bound).
    pub connection_timeout: Option<Duration>,
    /// `query_timeout` (may come from the connection string, as in pg).
    pub query_timeout: Option<Duration>,
}

/// The options with the connection string's keys laid over them.
struct Merged<'a> {
    opts: &'a Map<String, Value>,
    cs: Map<String, Value>,
}

impl<'a> Merged<'a> {
    fn get<'k>(&self, key: &'k str) -> Option<(&Value, Origin<'k>)> {
        match self.cs.get(key) {
            Some(v) => Some((v, Origin::ConnString(key))),
            None => self.opts.get(key).map(|v| (v, Origin::Opt(key))),
        }
    }

    /// The value of `key` if it is truthy (pg's `if (config[key])`).
    fn truthy<'k>(&self, key: &'k str) -> Option<(&Value, Origin<'k>)> {
        self.get(key).filter(|(v, _)| truthy(v))
    }

    /// pg's `val(key, config, envVar)` for string settings.
    fn string(
        &self,
        key: &str,
        env_var: Option<&str>,
        env: Env<'_>,
    ) -> Result<Option<String>, ConfigError> {
        if let Some((v, origin)) = self.truthy(key) {
            return value::string(v, origin).map(|s| Some(s.to_string()));
        }
        Ok(env_var.and_then(|k| non_empty_env(env, k)))
    }
}

fn non_empty_env(env: Env<'_>, key: &str) -> Option<String> {
    env(key).filter(|s| !s.is_empty())
}

/// The process's account name (see `account.rs`), injectable for tests.
pub(crate) type OsUser<'a> = &'a dyn Fn() -> Option<String>;

/// Resolves everything about how to open a connection.
pub(crate) fn resolve(
    opts: &Map<String, Value>,
    env: Env<'_>,
    os_user: OsUser<'_>,
) -> Result<Resolved, ConfigError> {
    resolve_with(opts, env, os_user, &connstring::read_file)
}

pub(crate) fn resolve_with(
    opts: &Map<String, Value>,
    env: Env<'_>,
    os_user: OsUser<'_>,
    read: connstring::FileReader<'_>,
) -> Result<Resolved, ConfigError> {
    let cs = match opts.get("connectionString") {
        Some(v) if truthy(v) => match v {
            Value::String(s) => connstring::parse(s, read)?,
            other => {
                return Err(ConfigError::type_err(
                    Origin::Opt("connectionString"),
                    "a string",
                    &show_type(other),
                ))
            }
        },
        _ => Map::new(),
    };
    let m = Merged { opts, cs };

    // pg's default role (`user`, `PGUSER`, then `USER`); where pg would send none, libpq's:
    // the account the process runs as.
    let user = match m.string("user", Some("PGUSER"), env)? {
        Some(u) => u,
        None => non_empty_env(env, if cfg!(windows) { "USERNAME" } else { "USER" })
            .or_else(os_user)
            .unwrap_or_default(),
    };
    let database = m
        .string("database", Some("PGDATABASE"), env)?
        .unwrap_or_else(|| user.clone());
    let port = match m.truthy("port") {
        Some((v, origin)) => port(v, origin)?,
        None => match non_empty_env(env, "PGPORT") {
            Some(p) => port(&Value::String(p), Origin::Env("PGPORT"))?,
            None => 5432,
        },
    };
    let host = m
        .string("host", Some("PGHOST"), env)?
        .unwrap_or_else(|| "localhost".to_string());
    let host = if host.starts_with('/') {
        Host::Unix(PathBuf::from(host))
    } else {
        Host::Tcp(host)
    };

    let password = match m.truthy("password") {
        Some((Value::String(s), _)) => PasswordSpec::Static(Secret(s.clone())),
        Some((v, _)) if is_function(v) => PasswordSpec::Dynamic,
        Some((v, origin)) => {
            return Err(ConfigError::type_err(
                origin,
                "a string or a function",
                &show_type(v),
            ))
        }
        None => match non_empty_env(env, "PGPASSWORD") {
            Some(p) => PasswordSpec::Static(Secret(p)),
            None => PasswordSpec::None,
        },
    };

    let options = m.string("options", None, env)?;
    let mut ssl = match m.get("ssl") {
        Some((v, origin)) => super::ssl::from_value(v, origin)?,
        None => super::ssl::from_env(env)?,
    };
    let negotiation = ssl_negotiation(&m, &ssl, env)?;
    if let SslConfig::Enabled(tls) = &mut ssl {
        tls.negotiation = negotiation;
    }
    // pg always announces client_encoding UTF8; the option only changes how node decodes.
    m.string("client_encoding", None, env)?;

    let replication = match m.truthy("replication") {
        None => None,
        Some((Value::Bool(_), _)) => Some("true".to_string()),
        Some((Value::String(s), _)) => Some(s.clone()),
        Some((Value::Number(n), _)) => Some(show(&Value::Number(n.clone()))),
        Some((v, origin)) => {
            return Err(ConfigError::type_err(
                origin,
                "a boolean or a string",
                &show(v),
            ))
        }
    };
    let application_name = m.string("application_name", Some("PGAPPNAME"), env)?;
    let fallback_application_name = m.string("fallback_application_name", None, env)?;
    let statement_timeout = server_timeout(&m, "statement_timeout")?;
    let lock_timeout = server_timeout(&m, "lock_timeout")?;
    let idle_tx_timeout = server_timeout(&m, "idle_in_transaction_session_timeout")?;

    let mut startup_params = vec![
        ("user".to_string(), user.clone()),
        ("database".to_string(), database.clone()),
    ];
    let optional = [
        (
            "application_name",
            application_name.or(fallback_application_name),
        ),
        ("replication", replication),
        ("statement_timeout", statement_timeout),
        ("lock_timeout", lock_timeout),
        ("idle_in_transaction_session_timeout", idle_tx_timeout),
        ("options", options),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            startup_params.push((k.to_string(), v));
        }
    }
    startup_params.push(("client_encoding".to_string(), "UTF8".to_string()));

    let query_timeout = match m.get("query_timeout") {
        Some((v, origin)) => optional_millis(v, origin, true)?,
        None => None,
    };

    // Socket options are read from the options themselves, not the merged object (pg's Client).
    let keep_alive = match opts.get("keepAlive") {
        None | Some(Value::Null) => false,
        Some(v) => value::boolean(v, Origin::Opt("keepAlive"))?,
    };
    let keep_alive_initial_delay = match opts.get("keepAliveInitialDelayMillis") {
        None | Some(Value::Null) => Duration::ZERO,
        Some(v) => optional_millis(v, Origin::Opt("keepAliveInitialDelayMillis"), false)?
            .unwrap_or(Duration::ZERO),
    };
    let (connection_timeout, connect_timeout) = match opts.get("connectionTimeoutMillis") {
        Some(v) => {
            let t = optional_millis(v, Origin::Opt("connectionTimeoutMillis"), false)?;
            (t, t)
        }
        None => (None, env_connect_timeout(env)?),
    };
    let scram_max_iterations = scram_max_iterations(opts.get("scramMaxIterations"));
    let auth = super::auth::resolve(&|k| m.get(k).map(|(v, o)| (v.clone(), o)), env)?;

    Ok(Resolved {
        connect: ConnectConfig {
            host,
            port,
            user,
            password,
            database,
            ssl,
            startup_params,
            keep_alive,
            keep_alive_initial_delay,
            connect_timeout,
            scram_max_iterations,
            auth,
        },
        connection_timeout,
        query_timeout,
    })
}

/// A port from an option, the connection string or `PGPORT`: an integer in 1..=65535.
fn port(v: &Value, origin: Origin<'_>) -> Result<u16, ConfigError> {
    const EXPECTED: &str = "a port number between 1 and 65535";
    let n = match v {
        Value::Number(_) => value::number(v, origin, EXPECTED)?,
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ConfigError::range_err(origin, EXPECTED, &show(v)));
            }
            t.parse::<f64>().unwrap_or(f64::INFINITY)
        }
        _ => return Err(ConfigError::type_err(origin, EXPECTED, &show(v))),
    };
    if n.fract() != 0.0 || !(1.0..=65535.0).contains(&n) {
        return Err(ConfigError::range_err(origin, EXPECTED, &show(v)));
    }
    Ok(n as u16)
}

/// A millisecond setting where `0`, `null` (and `false` if `allow_false`) mean "none".
fn optional_millis(
    v: &Value,
    origin: Origin<'_>,
    allow_false: bool,
) -> Result<Option<Duration>, ConfigError> {
    const EXPECTED: &str = "a non-negative number of milliseconds";
    match v {
        Value::Null => return Ok(None),
        Value::Bool(false) if allow_false => return Ok(None),
        Value::String(s) if s.is_empty() && allow_false => return Ok(None),
        _ => {}
    }
    let ms = value::non_negative(v, origin, EXPECTED)?;
    if ms == 0.0 {
        return Ok(None);
    }
    value::millis(ms, origin, v).map(Some)
}

/// `statement_timeout`-style settings pg sends as `String(parseInt(value, 10))`.
fn server_timeout(m: &Merged<'_>, key: &str) -> Result<Option<String>, ConfigError> {
    const EXPECTED: &str = "a non-negative integer number of milliseconds";
    let Some((v, origin)) = m.get(key) else {
        return Ok(None);
    };
    let n = match v {
        Value::Null | Value::Bool(false) => return Ok(None),
        Value::String(s) if s.is_empty() => return Ok(None),
        Value::Number(_) => value::number(v, origin, EXPECTED)?,
        Value::String(s) => {
            let t = s.trim().trim_start_matches('+');
            let (int, frac) = t.split_once('.').unwrap_or((t, ""));
            let decimal = !int.is_empty()
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit());
            if !decimal {
                return Err(match value::parse_number_str(s) {
                    Some(_) => ConfigError::range_err(origin, EXPECTED, &show(v)),
                    None => ConfigError::type_err(origin, EXPECTED, &show(v)),
                });
            }
            int.parse::<f64>().unwrap_or(f64::INFINITY)
        }
        _ => return Err(ConfigError::type_err(origin, EXPECTED, &show(v))),
    };
    if !(0.0..1e21).contains(&n) {
        return Err(ConfigError::range_err(origin, EXPECTED, &show(v)));
    }
    // A number 0 is falsy (not sent); "0" and 0.5 are truthy and sent as "0", as in pg.
    Ok((v.is_string() || n != 0.0).then(|| value::show_f64(n.trunc())))
}

/// `sslnegotiation` / `PGSSLNEGOTIATION` (pg's `ConnectionParameters`): `postgres` (the
/// default) or `direct`, which needs TLS on.
fn ssl_negotiation(
    m: &Merged<'_>,
    ssl: &SslConfig,
    env: Env<'_>,
) -> Result<SslNegotiation, ConfigError> {
    let origin = match m.truthy("sslnegotiation") {
        Some((_, o)) => o,
        None => Origin::Env("PGSSLNEGOTIATION"),
    };
    match m
        .string("sslnegotiation", Some("PGSSLNEGOTIATION"), env)?
        .as_deref()
    {
        None | Some("postgres") => Ok(SslNegotiation::Postgres),
        Some("direct") if matches!(ssl, SslConfig::Disabled) => Err(ConfigError::other(
            ConfigErrorKind::Range,
            origin,
            "sslnegotiation=direct requires SSL to be enabled",
        )),
        Some("direct") => Ok(SslNegotiation::Direct),
        Some(other) => Err(ConfigError::range_err(
            origin,
            "\"postgres\" or \"direct\"",
            &show(&Value::String(other.to_string())),
        )),
    }
}

/// pg's default `scramMaxIterations`.
pub(crate) const DEFAULT_SCRAM_MAX_ITERATIONS: f64 = 100_000.0;

/// `scramMaxIterations`, coerced as pg's `Client` does: a finite number, or a string that
/// reads as one; anything else (absent, `null`, `NaN`, a word) is the default.
fn scram_max_iterations(v: Option<&Value>) -> f64 {
    let n = match v {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) if !s.trim().is_empty() => value::parse_number_str(s),
        _ => None,
    };
    n.filter(|n| n.is_finite())
        .unwrap_or(DEFAULT_SCRAM_MAX_ITERATIONS)
}

/// `PGCONNECT_TIMEOUT`: whole seconds, `0` meaning none.
fn env_connect_timeout(env: Env<'_>) -> Result<Option<Duration>, ConfigError> {
    let Some(raw) = non_empty_env(env, "PGCONNECT_TIMEOUT") else {
        return Ok(None);
    };
    let t = raw.trim();
    match t.parse::<u64>() {
        Ok(0) => Ok(None),
        Ok(s) if t.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(Duration::from_secs(s))),
        _ => Err(ConfigError::range_err(
            Origin::Env("PGCONNECT_TIMEOUT"),
            "a non-negative integer number of seconds",
            &show(&Value::String(raw.clone())),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        resolve_with(&opts(v), env, &|| None, &|p| {
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
        let env =
            |v: &'static str| move |k: &str| (k == "PGCONNECT_TIMEOUT").then(|| v.to_string());
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
}
