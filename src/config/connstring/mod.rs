//! Connection-string parsing with pg-connection-string's semantics (v2.x `parse`).
//!
//! The result is the object pg would `Object.assign` over the options: every key it
//! contains overrides the option of the same name, even when its value is empty or
//! `null` (that is how pg behaves: `postgres://host/db` discards `options.user`).
//! Values are strings, `null`, or for `ssl` a boolean or an object with `cert`, `key`,
//! `ca` (file contents) and `rejectUnauthorized`.

use serde_json::{Map, Value};
use url::Url;

use super::error::{ConfigError, ConfigErrorKind, Origin};
use super::value::truthy;

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

/// The string value of `key`, if it is a non-empty string.
fn str_param<'m>(config: &'m Map<String, Value>, key: &str) -> Option<&'m str> {
    match config.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// pg-connection-string's handling of `ssl`, `sslmode`, `sslcert`, `sslkey`,
/// `sslrootcert`, `sslnegotiation` and `uselibpqcompat`.
fn apply_ssl(config: &mut Map<String, Value>, read: FileReader<'_>) -> Result<(), ConfigError> {
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
        ssl.insert(super::ssl::SKIP_HOST_CHECK.into(), Value::Bool(true));
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

/// pg's test `/ |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i`: a space or a broken escape.
fn needs_encoding(s: &str) -> bool {
    let c: Vec<char> = s.chars().collect();
    c.iter().enumerate().any(|(i, &ch)| {
        ch == ' '
            || (ch == '%'
                && match (c.get(i + 1), c.get(i + 2)) {
                    (Some(a), _) if !a.is_ascii_hexdigit() => true,
                    (Some(_), Some(b)) => !b.is_ascii_hexdigit(),
                    _ => false,
                })
    })
}

/// JavaScript's `encodeURI`.
fn encode_uri(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() || "-_.!~*'();/?:@&=+$,#".contains(ch) {
            out.push(ch);
        } else {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// `.replace(/%25(\d\d)/g, '%$1')`: undoes the double encoding of `%` + two digits.
fn restore_digit_escapes(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"%25")
            && b.get(i + 3).is_some_and(u8::is_ascii_digit)
            && b.get(i + 4).is_some_and(u8::is_ascii_digit)
        {
            out.extend_from_slice(&[b'%', b[i + 3], b[i + 4]]);
            i += 5;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("only ASCII bytes were rewritten")
}

/// JavaScript's `decodeURIComponent`; `None` where it would throw `URIError`.
pub(crate) fn decode_uri_component(s: &str) -> Option<String> {
    percent_decode(s, "")
}

/// JavaScript's `decodeURI` (escapes of `;/?:@&=+$,#` stay as they are).
pub(crate) fn decode_uri(s: &str) -> Option<String> {
    percent_decode(s, ";/?:@&=+$,#")
}

fn percent_decode(s: &str, keep: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let hex = s.get(i + 1..i + 3)?;
        let byte = u8::from_str_radix(hex, 16).ok()?;
        if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
            return None;
        }
        if byte.is_ascii() && keep.contains(byte as char) {
            out.extend_from_slice(&b[i..i + 3]);
        } else {
            out.push(byte);
        }
        i += 3;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_files(p: &str) -> std::io::Result<String> {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no {p}"),
        ))
    }

    fn p(s: &str) -> Value {
        Value::Object(parse(s, &no_files).unwrap())
    }

    // Expected values below were produced by pg-connection-string 2.14.1's parse().
    #[test]
    fn full_url() {
        assert_eq!(
            p("postgres://u:p%40ss@h:1234/db?application_name=app&options=-c%20search_path%3Dfoo+bar"),
            json!({"application_name": "app", "options": "-c search_path=foo bar",
                   "user": "u", "password": "p@ss", "host": "h", "port": "1234", "database": "db"})
        );
    }

    #[test]
    fn minimal_url_sets_empty_credentials() {
        assert_eq!(
            p("postgres://localhost/db"),
            json!({"user": "", "password": "", "host": "localhost", "port": "", "database": "db"})
        );
        assert_eq!(
            p("postgres://h"),
            json!({"user": "", "password": "", "host": "h", "port": "", "database": null})
        );
        assert_eq!(p("postgresql://h/")["database"], json!(null));
    }

    #[test]
    fn socket_forms() {
        assert_eq!(
            p("/var/run/postgresql dbname"),
            json!({"host": "/var/run/postgresql", "database": "dbname"})
        );
        assert_eq!(
            p("/var/run/postgresql"),
            json!({"host": "/var/run/postgresql", "database": null})
        );
        assert_eq!(
            p("socket:/var/run/pg?db=x&encoding=utf8"),
            json!({"db": "x", "encoding": "utf8", "user": "", "password": "",
                   "host": "/var/run/pg", "database": "x", "client_encoding": "utf8"})
        );
        assert_eq!(p("socket:/var/run/pg")["client_encoding"], json!(null));
        let v = p("postgres://%2Fvar%2Frun%2Fpostgresql/db");
        assert_eq!(v["host"], "/var/run/postgresql");
        assert_eq!(v["database"], "db");
        // host= parameter with an encoded socket host: pg glues the host onto the path
        let v = p("postgres://%2Fvar%2Frun/mydb?host=/foo");
        assert_eq!(v["host"], "/foo");
        assert_eq!(v["database"], "%2Fvar%2Frun/mydb");
        let v = p("postgres://h/db?host=/tmp");
        assert_eq!(v["host"], "/tmp");
        assert_eq!(v["database"], "db");
    }

    #[test]
    fn odd_forms_match_pg() {
        let v = p("postgres://user:pass@/db");
        assert_eq!(
            (&v["user"], &v["password"], &v["host"]),
            (&json!("user"), &json!("pass"), &json!(""))
        );
        assert_eq!(v["database"], "db");
        let v = p("postgres://user@/db");
        assert_eq!((&v["user"], &v["host"]), (&json!("user"), &json!("")));
        let v = p("localhost/db");
        assert_eq!(
            (&v["host"], &v["database"]),
            (&json!("base"), &json!("localhost/db"))
        );
        let v = p("host:5432/db");
        assert_eq!((&v["host"], &v["database"]), (&json!(""), &json!("432/db")));
        let v = p("postgres://a b@h/d b");
        assert_eq!((&v["user"], &v["database"]), (&json!("a b"), &json!("d b")));
        let v = p("postgres://[::1]:5433/d%2Fb%20x");
        assert_eq!(v["host"], "::1");
        assert_eq!(v["port"], "5433");
        assert_eq!(v["database"], "d%2Fb x");
        let v = p("postgres://u:100%@h/db");
        assert_eq!(v["password"], "100%");
        let v = p("postgres://u:a%2541@h/db");
        assert_eq!(v["password"], "a%41");
        // query parameters win over the URL parts; the last duplicate wins
        let v = p("postgres://u@h:1/db?user=q&port=2&host=other&x=1&x=2");
        assert_eq!(
            (&v["user"], &v["port"], &v["host"], &v["x"]),
            (&json!("q"), &json!("2"), &json!("other"), &json!("2"))
        );
    }

    #[test]
    fn invalid_urls_do_not_leak_the_string() {
        for s in [
            "postgres://u:secretpw@h:99999/db",
            "postgres://u:secretpw@h:x/db",
        ] {
            let e = parse(s, &no_files).unwrap_err();
            assert_eq!(e.option, "connectionString");
            assert!(!e.message.contains("secretpw"), "{}", e.message);
        }
        let e = parse("postgres://u:%FF@h/db", &no_files).unwrap_err();
        assert!(e.message.contains("password"));
        assert!(!e.message.contains("%FF"));
    }

    #[test]
    fn ssl_params() {
        assert_eq!(p("postgres://h/db?ssl=true")["ssl"], json!(true));
        assert_eq!(p("postgres://h/db?ssl=1")["ssl"], json!(true));
        assert_eq!(p("postgres://h/db?ssl=0")["ssl"], json!(false));
        assert_eq!(
            p("postgres://h/db?ssl=no-verify")["ssl"],
            json!("no-verify")
        );
        assert_eq!(p("postgres://h/db?ssl=false")["ssl"], json!("false"));
        assert_eq!(p("postgres://h/db").get("ssl"), None);
        assert_eq!(p("postgres://h/db?sslmode=require")["ssl"], json!({}));
        assert_eq!(p("postgres://h/db?sslmode=verify-full")["ssl"], json!({}));
        assert_eq!(
            p("postgres://h/db?ssl=true&sslmode=prefer")["ssl"],
            json!({})
        );
        assert_eq!(p("postgres://h/db?sslmode=disable")["ssl"], json!(false));
        assert_eq!(
            p("postgres://h/db?sslmode=no-verify")["ssl"],
            json!({"rejectUnauthorized": false})
        );
        assert_eq!(
            p("postgres://h/db?sslmode=prefer&uselibpqcompat=true")["ssl"],
            json!({"rejectUnauthorized": false})
        );
        assert_eq!(
            p("postgres://h/db?sslmode=require&uselibpqcompat=true")["ssl"],
            json!({"rejectUnauthorized": false})
        );
        assert_eq!(
            p("postgres://h/db?sslmode=no-verify&uselibpqcompat=true")["ssl"],
            json!({})
        );
        assert_eq!(
            p("postgres://h/db?sslnegotiation=direct")["ssl"],
            json!(true)
        );
        assert_eq!(
            p("postgres://h/db?ssl=0&sslnegotiation=direct")["ssl"],
            json!(false)
        );
        assert_eq!(p("socket:/tmp?sslmode=require").get("ssl"), None);
        let e = parse("postgres://h/db?sslmode=allow", &no_files).unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::Range);
        assert!(e.message.contains("\"allow\""), "{}", e.message);
        let e = parse(
            "postgres://h/db?sslmode=verify-ca&uselibpqcompat=true",
            &no_files,
        )
        .unwrap_err();
        assert!(e.message.contains("sslrootcert"));
    }

    #[test]
    fn ssl_files_are_read() {
        let read = |p: &str| -> std::io::Result<String> {
            match p {
                "/c.pem" => Ok("CERT".into()),
                "/k.pem" => Ok("KEY".into()),
                "/ca.pem" => Ok("CA".into()),
                _ => no_files(p),
            }
        };
        let v = parse(
            "postgres://h/db?sslcert=/c.pem&sslkey=/k.pem&sslrootcert=/ca.pem",
            &read,
        )
        .unwrap();
        assert_eq!(v["ssl"], json!({"cert": "CERT", "key": "KEY", "ca": "CA"}));
        let v = parse(
            "postgres://h/db?sslrootcert=/ca.pem&sslmode=no-verify",
            &read,
        )
        .unwrap();
        assert_eq!(v["ssl"], json!({"ca": "CA", "rejectUnauthorized": false}));
        let e = parse("postgres://h/db?sslrootcert=/missing.pem", &read).unwrap_err();
        assert_eq!(e.option, "connectionString");
        assert!(e.message.contains("sslrootcert") && e.message.contains("/missing.pem"));
        // libpq's require with a root certificate, and verify-ca: the chain alone is checked.
        for s in [
            "postgres://h/db?sslmode=require&sslrootcert=/ca.pem&uselibpqcompat=true",
            "postgres://h/db?sslmode=verify-ca&sslrootcert=/ca.pem&uselibpqcompat=true",
        ] {
            let v = parse(s, &read).unwrap();
            assert_eq!(v["ssl"], json!({"ca": "CA", "$skipHostCheck": true}), "{s}");
        }
        // the real reader
        let path = std::env::temp_dir().join(format!("ldp-cfg-{}.pem", std::process::id()));
        std::fs::write(&path, "PEM").unwrap();
        let url = format!("postgres://h/db?sslrootcert={}", path.display());
        let v = parse(&url, &read_file).unwrap();
        assert_eq!(v["ssl"], json!({"ca": "PEM"}));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn uri_helpers() {
        assert!(needs_encoding("a b"));
        assert!(needs_encoding("x%@y"));
        assert!(needs_encoding("%4g"));
        assert!(!needs_encoding("100%"));
        assert!(!needs_encoding("%4"));
        assert!(!needs_encoding("%41%2f"));
        assert_eq!(encode_uri("a b%é/?#"), "a%20b%25%C3%A9/?#");
        assert_eq!(restore_digit_escapes("%2541%25ab%2512"), "%41%25ab%12");
        assert_eq!(decode_uri("d%2Fb%20%C3%A9"), Some("d%2Fb é".into()));
        assert_eq!(decode_uri_component("d%2Fb"), Some("d/b".into()));
        for bad in ["%", "%4", "%zz", "%FF", "%C3", "%C3x", "%+1"] {
            assert_eq!(decode_uri_component(bad), None, "{bad}");
        }
        let v = p("postgres://u:p@h/d%C3%A9?options=%2Bx");
        assert_eq!(
            (&v["database"], &v["options"]),
            (&json!("dé"), &json!("+x"))
        );
        assert_eq!(
            parse("postgres://h/db%", &no_files).unwrap_err().option,
            "connectionString"
        );
    }
}
