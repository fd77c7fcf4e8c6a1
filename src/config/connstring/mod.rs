//! Connection-string parsing with pg-connection-string's semantics (v2.x `parse`).
//!
//! The result is the object pg would `Object.assign` over the options: every key it
//! contains overrides the option of the same name, even when its value is empty or
//! `null` (that is how pg behaves: `postgres://host/db` discards `options.user`).
//! Values are strings, `null`, or for `ssl` a boolean or an object with `cert`, `key`,
//! `ca` (file contents) and `rejectUnauthorized`.

use serde_json::{Map, Value};
use url::Url;

mod sslmode;
mod uri;

use super::error::{ConfigError, ConfigErrorKind};
use super::value::truthy;
use sslmode::apply_ssl;
use uri::{decode_uri, decode_uri_component, encode_uri, needs_encoding, restore_digit_escapes};

/// Reads a certificate or key file named by `sslcert`/`sslkey`/`sslrootcert`.
pub(crate) type FileReader<'a> = &'a dyn Fn(&str) -> std::io::Result<String>;

/// Reads a file the way `fs.readFileSync(path).toString()` does.
pub(crate) fn read_file(path: &str) -> std::io::Result<String> {
    std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Parses `s` as pg-connection-string's `parse(s)` would.
///
/// Errors never contain `s` (it may hold a password).
pub(crate) fn parse(s: &str, read: FileReader<'_>) -> Result<Map<String, Value>, ConfigError> {
    let mut config = Map::new();

    // "/var/run/postgresql dbname": a socket directory and an optional database.
    if let Some(rest) = s.strip_prefix('/') {
        let mut parts = rest.split(' ');
        let host = format!("/{}", parts.next().unwrap_or(""));
        config.insert("host".into(), Value::String(host));
        let db = parts
            .next()
            .map_or(Value::Null, |d| Value::String(d.to_string()));
        config.insert("database".into(), db);
        return Ok(config);
    }

    let encoded;
    let mut input = s;
    if needs_encoding(s) {
        encoded = restore_digit_escapes(&encode_uri(s));
        input = &encoded;
    }

    let base = Url::parse("postgres://base").expect("static base URL");
    let (url, dummy_host) = match base.join(input) {
        Ok(u) => (u, false),
        Err(_) => match base.join(&input.replacen("@/", "@___DUMMY___/", 1)) {
            Ok(u) => (u, true),
            Err(e) => {
                return Err(ConfigError::conn_string(
                    ConfigErrorKind::Range,
                    &format!("not a valid connection URL ({e})"),
                ))
            }
        },
    };

    for (k, v) in url.query_pairs() {
        config.insert(k.into_owned(), Value::String(v.into_owned()));
    }

    for (key, raw, what) in [
        ("user", url.username(), "user name"),
        ("password", url.password().unwrap_or(""), "password"),
    ] {
        if !config.get(key).is_some_and(truthy) {
            let decoded = decode_uri_component(raw).ok_or_else(|| malformed(what))?;
            config.insert(key.into(), Value::String(decoded));
        }
    }

    if url.scheme() == "socket" {
        let host = decode_uri(url.path()).ok_or_else(|| malformed("socket path"))?;
        config.insert("host".into(), Value::String(host));
        let first = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map_or(Value::Null, |(_, v)| Value::String(v.into_owned()))
        };
        config.insert("database".into(), first("db"));
        config.insert("client_encoding".into(), first("encoding"));
        return Ok(config);
    }

    let raw_host = if dummy_host {
        ""
    } else {
        url.host_str().unwrap_or("")
    };
    let hostname = raw_host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(raw_host);
    let mut pathname = url.path().to_string();
    if !config.get("host").is_some_and(truthy) {
        let host = decode_uri_component(hostname).ok_or_else(|| malformed("host"))?;
        config.insert("host".into(), Value::String(host));
    } else if hostname.len() >= 3 && hostname[..3].eq_ignore_ascii_case("%2f") {
        // A percent-encoded socket host with a `host=` parameter: pg glues it onto the
        // path through the URL's pathname setter (which adds the leading `/`).
        let mut u = url.clone();
        u.set_path(&format!("{hostname}{pathname}"));
        pathname = u.path().to_string();
    }
    if !config.get("port").is_some_and(truthy) {
        let port = url.port().map_or(String::new(), |p| p.to_string());
        config.insert("port".into(), Value::String(port));
    }

    let db: String = pathname.chars().skip(1).collect();
    let database = if db.is_empty() {
        Value::Null
    } else {
        Value::String(decode_uri(&db).ok_or_else(|| malformed("database name"))?)
    };
    config.insert("database".into(), database);

    apply_ssl(&mut config, read)?;
    Ok(config)
}

fn malformed(what: &str) -> ConfigError {
    ConfigError::conn_string(
        ConfigErrorKind::Range,
        &format!("malformed percent-encoding in the {what}"),
    )
}

#[cfg(test)]
mod tests;
