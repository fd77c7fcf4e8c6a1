//! Resolving the `ssl` option (after the connection string was merged) and `PGSSLMODE`.

mod ca;

use serde_json::{Map, Value};

use super::error::{ConfigError, ConfigErrorKind, Origin};
use super::value::{show, show_type};
use super::{Secret, SslConfig, SslNegotiation, TlsOptions, TlsVersion};
pub(crate) use ca::trust_store as ca_trust_store;

/// The keys of an `ssl` object this client honours. `require` is a no-op pg ignores too (TLS is
/// on whenever `ssl` is an object); `passphrase` is accepted only when empty.
const SUPPORTED: &[&str] = &[
    "rejectUnauthorized",
    "ca",
    "cert",
    "key",
    "servername",
    "minVersion",
    "maxVersion",
    "passphrase",
    "require",
];

/// The connection string's marker for a chain-only check (libpq's `verify-ca`), which pg
/// spells as a no-op `checkServerIdentity`; `connstring/sslmode.rs` sets it, users cannot.
pub(crate) const SKIP_HOST_CHECK: &str = "$skipHostCheck";

impl Default for TlsOptions {
    /// pg's `ssl: true`: verify the server certificate against the system roots.
    fn default() -> Self {
        TlsOptions {
            reject_unauthorized: true,
            ca: None,
            cert: None,
            key: None,
            servername: None,
            verify_host: true,
            min_version: TlsVersion::Tls12,
            max_version: TlsVersion::Tls13,
            negotiation: SslNegotiation::Postgres,
        }
    }
}

/// Node's name of a TLS version, as `minVersion`/`maxVersion` take it.
fn tls_version(name: &str) -> Option<Option<TlsVersion>> {
    match name {
        "TLSv1.3" => Some(Some(TlsVersion::Tls13)),
        "TLSv1.2" => Some(Some(TlsVersion::Tls12)),
        // Known to Node, never spoken here.
        "TLSv1.1" | "TLSv1" => Some(None),
        _ => None,
    }
}

/// pg's `readSSLConfigFromEnvironment`, except that an unknown mode is an error: `None` when
/// `PGSSLMODE` is unset or empty (pg then takes `pg.defaults.ssl`).
pub(crate) fn from_env(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<SslConfig>, ConfigError> {
    let mode = env("PGSSLMODE").unwrap_or_default();
    match mode.as_str() {
        "" => Ok(None),
        "disable" => Ok(Some(SslConfig::Disabled)),
        "prefer" | "require" | "verify-ca" | "verify-full" => {
            Ok(Some(SslConfig::Enabled(TlsOptions::default())))
        }
        "no-verify" => Ok(Some(SslConfig::Enabled(TlsOptions {
            reject_unauthorized: false,
            ..TlsOptions::default()
        }))),
        other => Err(ConfigError::range_err(
            Origin::Env("PGSSLMODE"),
            "one of disable, prefer, require, verify-ca, verify-full, no-verify",
            &show(&Value::String(other.to_string())),
        )),
    }
}

/// The `ssl` value pg ends up with: `true`, `false`, `null`, `"true"`, `"no-verify"`,
/// `""` or an options object. Other strings (pg would silently enable SSL with any
/// truthy string, even `"false"`) and other types are errors.
pub(crate) fn from_value(v: &Value, origin: Origin<'_>) -> Result<SslConfig, ConfigError> {
    match v {
        Value::Null | Value::Bool(false) => Ok(SslConfig::Disabled),
        Value::Bool(true) => Ok(SslConfig::Enabled(TlsOptions::default())),
        Value::String(s) => match s.as_str() {
            "" => Ok(SslConfig::Disabled),
            "true" => Ok(SslConfig::Enabled(TlsOptions::default())),
            "no-verify" => Ok(SslConfig::Enabled(TlsOptions {
                reject_unauthorized: false,
                ..TlsOptions::default()
            })),
            _ => Err(ConfigError::range_err(
                origin,
                "true, false, \"no-verify\" or an object (pg would enable SSL for any other string; use sslmode=disable to turn it off)",
                &show(v),
            )),
        },
        Value::Object(m) => tls_options(m, origin).map(SslConfig::Enabled),
        _ => Err(ConfigError::type_err(origin, "a boolean, a string or an object", &show(v))),
    }
}

fn tls_options(m: &Map<String, Value>, origin: Origin<'_>) -> Result<TlsOptions, ConfigError> {
    let prefix = match origin {
        Origin::Opt(name)
        | Origin::Env(name)
        | Origin::ConnString(name)
        | Origin::PgDefault(name) => name,
    };
    let field = |name: &str| format!("{prefix}.{name}");
    let at = |name: &str, f: &dyn Fn(Origin<'_>) -> ConfigError| {
        let n = field(name);
        match origin {
            // A connection string fills these fields from its file parameters: name those.
            Origin::ConnString(_) => f(Origin::ConnString(match name {
                "ca" => "sslrootcert",
                "cert" => "sslcert",
                "key" => "sslkey",
                _ => &n,
            })),
            Origin::PgDefault(_) => f(Origin::PgDefault(&n)),
            _ => f(Origin::Opt(&n)),
        }
    };

    let reject_unauthorized = match m.get("rejectUnauthorized") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(at("rejectUnauthorized", &|o| {
                ConfigError::type_err(o, "a boolean", &show(other))
            }))
        }
    };
    let pem = |name: &str, secret: bool| -> Result<Option<String>, ConfigError> {
        let bad = |v: &Value| {
            let shown = if secret { show_type(v) } else { show(v) };
            at(name, &|o| {
                ConfigError::type_err(o, "a PEM string or an array of PEM strings", &shown)
            })
        };
        match m.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone()).filter(|s| !s.is_empty())),
            Some(Value::Array(items)) => {
                let mut parts = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(s) => parts.push(s.as_str()),
                        other => return Err(bad(other)),
                    }
                }
                Ok(Some(parts.join("\n")).filter(|s| !s.is_empty()))
            }
            Some(other) => Err(bad(other)),
        }
    };
    let ca = pem("ca", false)?;
    if let Some(ca) = &ca {
        ca_trust_store(ca).map_err(|why| {
            at("ca", &|o| {
                ConfigError::other(ConfigErrorKind::Range, o, &why)
            })
        })?;
    }
    let cert = pem("cert", false)?;
    let key = pem("key", true)?.map(Secret);
    let servername = match m.get("servername") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()).filter(|s| !s.is_empty()),
        Some(other) => {
            return Err(at("servername", &|o| {
                ConfigError::type_err(o, "a string", &show(other))
            }))
        }
    };
    for (key, v) in m {
        if v.is_null() || SUPPORTED.contains(&key.as_str()) {
            continue;
        }
        if key == SKIP_HOST_CHECK && matches!(origin, Origin::ConnString(_)) {
            continue;
        }
        return Err(at(key, &|o| {
            ConfigError::other(
                ConfigErrorKind::Range,
                o,
                &format!(
                    "this TLS option is not supported, so it would be ignored; supported: {}",
                    SUPPORTED[..7].join(", ")
                ),
            )
        }));
    }
    let version = |name: &str, dflt: TlsVersion| -> Result<Option<TlsVersion>, ConfigError> {
        match m.get(name) {
            None | Some(Value::Null) => Ok(Some(dflt)),
            Some(v @ Value::String(s)) => tls_version(s).ok_or_else(|| {
                at(name, &|o| {
                    ConfigError::range_err(
                        o,
                        "\"TLSv1.3\", \"TLSv1.2\", \"TLSv1.1\" or \"TLSv1\"",
                        &show(v),
                    )
                })
            }),
            Some(other) => Err(at(name, &|o| {
                ConfigError::type_err(o, "a string", &show(other))
            })),
        }
    };
    // Below TLS 1.2 is never offered: a lower minimum changes nothing, a lower maximum leaves
    // nothing to speak.
    let min_version = version("minVersion", TlsVersion::Tls12)?.unwrap_or(TlsVersion::Tls12);
    let Some(max_version) = version("maxVersion", TlsVersion::Tls13)? else {
        return Err(at("maxVersion", &|o| {
            ConfigError::other(
                ConfigErrorKind::Range,
                o,
                "TLS versions below TLSv1.2 are not supported",
            )
        }));
    };
    if min_version > max_version {
        return Err(at("minVersion", &|o| {
            ConfigError::other(ConfigErrorKind::Range, o, "minVersion is above maxVersion")
        }));
    }
    let verify_host = !m.get(SKIP_HOST_CHECK).is_some_and(super::value::truthy);
    if m.get("passphrase").is_some_and(super::value::truthy) {
        return Err(at("passphrase", &|o| {
            ConfigError::other(
                ConfigErrorKind::Range,
                o,
                "encrypted private keys are not supported; pass a decrypted key",
            )
        }));
    }
    Ok(TlsOptions {
        reject_unauthorized,
        ca,
        cert,
        key,
        servername,
        verify_host,
        min_version,
        max_version,
        negotiation: SslNegotiation::Postgres,
    })
}

#[cfg(test)]
mod tests;
