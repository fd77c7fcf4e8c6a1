//! Connection settings: pg's `ConnectionParameters` + `Client` semantics.
//!
//! The connection string is merged over the options exactly like pg's
//! `Object.assign({}, config, parse(connectionString))`; each setting is then taken from
//! the merged object if truthy, else from its environment variable, else from pg's global
//! defaults (`pg.defaults`, as the JS layer found them: only the keys whose value differs from
//! pg's stock default), else pg's stock default.

use std::cell::RefCell;
use std::collections::BTreeSet;
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
    /// pg's binary mode (`binary` || `pg.defaults.binary`).
    pub binary: bool,
    /// The `pg.defaults` keys whose value was taken.
    pub from_pg_defaults: BTreeSet<String>,
}

/// The options with the connection string's keys laid over them, and pg's global defaults
/// beneath both (and beneath the environment).
///
/// Invariant: `used` holds exactly the `pg.defaults` keys a lookup took a value from.
struct Merged<'a> {
    opts: &'a Map<String, Value>,
    cs: Map<String, Value>,
    defaults: &'a Map<String, Value>,
    used: RefCell<BTreeSet<String>>,
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

    /// `pg.defaults[key]` if it is truthy (a falsy one decides nothing a stock default would
    /// not), recorded as taken.
    fn pg_default<'k>(&self, key: &'k str) -> Option<(&Value, Origin<'k>)> {
        let v = self.defaults.get(key).filter(|v| truthy(v))?;
        self.used.borrow_mut().insert(key.to_string());
        Some((v, Origin::PgDefault(key)))
    }

    /// pg's `val(key, config, false)` (no environment variable): the merged value if truthy,
    /// else `pg.defaults[key]` if truthy.
    fn given_or_default<'k>(&self, key: &'k str) -> Option<(&Value, Origin<'k>)> {
        self.truthy(key).or_else(|| self.pg_default(key))
    }

    /// pg's `val(key, config, envVar)`: the merged value if truthy, else the environment
    /// variable if set and non-empty, else `pg.defaults[key]` if truthy.
    fn val<'k>(
        &self,
        key: &'k str,
        env_var: Option<&'k str>,
        env: Env<'_>,
    ) -> Option<(Value, Origin<'k>)> {
        if let Some((v, origin)) = self.truthy(key) {
            return Some((v.clone(), origin));
        }
        if let Some((var, s)) = env_var.and_then(|k| Some((k, non_empty_env(env, k)?))) {
            return Some((Value::String(s), Origin::Env(var)));
        }
        self.pg_default(key).map(|(v, origin)| (v.clone(), origin))
    }

    /// [`Merged::val`] for string settings.
    fn string(
        &self,
        key: &str,
        env_var: Option<&str>,
        env: Env<'_>,
    ) -> Result<Option<String>, ConfigError> {
        match self.val(key, env_var, env) {
            Some((v, origin)) => value::string(&v, origin).map(|s| Some(s.to_string())),
            None => Ok(None),
        }
    }
}

fn non_empty_env(env: Env<'_>, key: &str) -> Option<String> {
    env(key).filter(|s| !s.is_empty())
}

/// The process's account name (see `account.rs`), injectable for tests.
pub(crate) type OsUser<'a> = &'a dyn Fn() -> Option<String>;

/// Resolves everything about how to open a connection, from the options, the environment and
/// `pg_defaults` (the keys of pg's global defaults that differ from pg's stock ones).
pub(crate) fn resolve(
    opts: &Map<String, Value>,
    pg_defaults: &Map<String, Value>,
    env: Env<'_>,
    os_user: OsUser<'_>,
) -> Result<Resolved, ConfigError> {
    resolve_with(opts, pg_defaults, env, os_user, &connstring::read_file)
}

pub(crate) fn resolve_with(
    opts: &Map<String, Value>,
    pg_defaults: &Map<String, Value>,
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
    let m = Merged {
        opts,
        cs,
        defaults: pg_defaults,
        used: RefCell::default(),
    };

    // pg's default role (`user`, `PGUSER`, `pg.defaults.user`, whose stock value is `USER`);
    // where pg would send none, libpq's: the account the process runs as.
    let user = match m.string("user", Some("PGUSER"), env)? {
        Some(u) => u,
        None => non_empty_env(env, if cfg!(windows) { "USERNAME" } else { "USER" })
            .or_else(os_user)
            .unwrap_or_default(),
    };
    let database = m
        .string("database", Some("PGDATABASE"), env)?
        .unwrap_or_else(|| user.clone());
    let port = match m.val("port", Some("PGPORT"), env) {
        Some((v, origin)) => port(&v, origin)?,
        None => 5432,
    };
    let host = m
        .string("host", Some("PGHOST"), env)?
        .unwrap_or_else(|| "localhost".to_string());
    let host = if host.starts_with('/') {
        Host::Unix(PathBuf::from(host))
    } else {
        Host::Tcp(host)
    };

    let password = match m.val("password", Some("PGPASSWORD"), env) {
        Some((Value::String(s), _)) => PasswordSpec::Static(Secret(s)),
        Some((v, _)) if is_function(&v) => PasswordSpec::Dynamic,
        Some((v, origin)) => {
            return Err(ConfigError::type_err(
                origin,
                "a string or a function",
                &show_type(&v),
            ))
        }
        None => PasswordSpec::None,
    };

    let options = m.string("options", Some("PGOPTIONS"), env)?;
    // pg: `ssl` when the merged object has one (even falsy), else PGSSLMODE, else pg.defaults.
    let mut ssl = match m.get("ssl") {
        Some((v, origin)) => super::ssl::from_value(v, origin)?,
        None => match super::ssl::from_env(env)? {
            Some(ssl) => ssl,
            None => match m.pg_default("ssl") {
                Some((v, origin)) => super::ssl::from_value(v, origin)?,
                None => SslConfig::Disabled,
            },
        },
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

    // A falsy given value means no timeout, as pg's `val('query_timeout', config, false)`.
    let query_timeout = match m.given_or_default("query_timeout") {
        Some((v, origin)) => optional_millis(v, origin, true)?,
        None => None,
    };
    // pg's `client.binary = config.binary || defaults.binary`: the option itself (never the
    // connection string), then pg.defaults.
    let binary = match opts.get("binary") {
        None | Some(Value::Null) => false,
        Some(v) => value::boolean(v, Origin::Opt("binary"))?,
    };
    let binary = binary
        || match m.pg_default("binary") {
            Some((v, origin)) => value::boolean(v, origin)?,
            None => false,
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
        binary,
        from_pg_defaults: m.used.into_inner(),
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

/// `statement_timeout`-style settings pg sends as `String(parseInt(value, 10))`: the merged
/// value if truthy, else `pg.defaults[key]` (pg reads no environment variable for them).
fn server_timeout(m: &Merged<'_>, key: &str) -> Result<Option<String>, ConfigError> {
    match m.given_or_default(key) {
        Some((v, origin)) => server_timeout_value(v, origin),
        None => Ok(None),
    }
}

fn server_timeout_value(v: &Value, origin: Origin<'_>) -> Result<Option<String>, ConfigError> {
    const EXPECTED: &str = "a non-negative integer number of milliseconds";
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
    let Some((v, origin)) = m.val("sslnegotiation", Some("PGSSLNEGOTIATION"), env) else {
        return Ok(SslNegotiation::Postgres);
    };
    match value::string(&v, origin)? {
        "postgres" => Ok(SslNegotiation::Postgres),
        "direct" if matches!(ssl, SslConfig::Disabled) => Err(ConfigError::other(
            ConfigErrorKind::Range,
            origin,
            "sslnegotiation=direct requires SSL to be enabled",
        )),
        "direct" => Ok(SslNegotiation::Direct),
        other => Err(ConfigError::range_err(
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
mod defaults_tests;
#[cfg(test)]
mod tests;
