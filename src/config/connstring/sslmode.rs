//! The connection string's TLS parameters, as pg-connection-string reads them.

use serde_json::{Map, Value};

use super::FileReader;
use crate::config::error::{ConfigError, ConfigErrorKind, Origin};
use crate::config::value::truthy;

/// The string value of `key`, if it is a non-empty string.
fn str_param<'m>(config: &'m Map<String, Value>, key: &str) -> Option<&'m str> {
    match config.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// pg-connection-string's handling of `ssl`, `sslmode`, `sslcert`, `sslkey`,
/// `sslrootcert`, `sslnegotiation` and `uselibpqcompat`.
pub(super) fn apply_ssl(
    config: &mut Map<String, Value>,
    read: FileReader<'_>,
) -> Result<(), ConfigError> {
    match config.get("ssl").and_then(Value::as_str) {
        Some("true" | "1") => {
            config.insert("ssl".into(), Value::Bool(true));
        }
        Some("0") => {
            config.insert("ssl".into(), Value::Bool(false));
        }
        _ => {}
    }
    let files = ["sslcert", "sslkey", "sslrootcert"];
    if files
        .iter()
        .chain(&["sslmode"])
        .any(|k| str_param(config, k).is_some())
    {
        config.insert("ssl".into(), Value::Object(Map::new()));
    }
    if str_param(config, "sslnegotiation") == Some("direct") && !config.contains_key("ssl") {
        config.insert("ssl".into(), Value::Bool(true));
    }

    let mut ssl = match config.get("ssl") {
        Some(Value::Object(m)) => m.clone(),
        _ => return check_mode(config),
    };
    for (param, field) in [
        ("sslcert", "cert"),
        ("sslkey", "key"),
        ("sslrootcert", "ca"),
    ] {
        if let Some(path) = str_param(config, param) {
            let text = read(path).map_err(|e| {
                ConfigError::other(
                    ConfigErrorKind::Range,
                    Origin::ConnString(param),
                    &format!("could not read file \"{path}\": {e}"),
                )
            })?;
            ssl.insert(field.into(), Value::String(text));
        }
    }

    let mode = str_param(config, "sslmode").map(str::to_string);
    let libpq = str_param(config, "uselibpqcompat") == Some("true");
    // libpq's verify-ca: the chain is verified, the host name is not (pg: a no-op
    // checkServerIdentity).
    let chain_only = |ssl: &mut Map<String, Value>| {
        ssl.insert(
            crate::config::ssl::SKIP_HOST_CHECK.into(),
            Value::Bool(true),
        );
    };
    match mode.as_deref() {
        None => {}
        Some("disable") => {
            config.insert("ssl".into(), Value::Bool(false));
            return Ok(());
        }
        Some("prefer") if libpq => {
            ssl.insert("rejectUnauthorized".into(), Value::Bool(false));
        }
        Some("require") if libpq => {
            if str_param(config, "sslrootcert").is_some() {
                chain_only(&mut ssl);
            } else {
                ssl.insert("rejectUnauthorized".into(), Value::Bool(false));
            }
        }
        Some("verify-ca") if libpq => {
            if !ssl.get("ca").is_some_and(truthy) {
                return Err(ConfigError::other(
                    ConfigErrorKind::Range,
                    Origin::ConnString("sslmode"),
                    "sslmode=verify-ca requires specifying a CA with sslrootcert; use sslmode=verify-full for proper security",
                ));
            }
            chain_only(&mut ssl);
        }
        Some("no-verify") if !libpq => {
            ssl.insert("rejectUnauthorized".into(), Value::Bool(false));
        }
        // pg treats these as verify-full (and so does libpq mode for no-verify).
        Some("prefer" | "require" | "verify-ca" | "verify-full" | "no-verify") => {}
        Some(_) => return check_mode(config),
    }
    config.insert("ssl".into(), Value::Object(ssl));
    Ok(())
}

/// Rejects an `sslmode` pg does not know (pg would silently turn SSL on).
fn check_mode(config: &Map<String, Value>) -> Result<(), ConfigError> {
    match str_param(config, "sslmode") {
        None
        | Some("disable" | "prefer" | "require" | "verify-ca" | "verify-full" | "no-verify") => {
            Ok(())
        }
        Some(other) => Err(ConfigError::range_err(
            Origin::ConnString("sslmode"),
            "one of disable, prefer, require, verify-ca, verify-full, no-verify",
            &Value::String(other.to_string()).to_string(),
        )),
    }
}
