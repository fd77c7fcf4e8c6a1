use super::*;
use std::time::Duration;

use serde_json::json;

use crate::config::fixtures::{cfg, params, USER};
use crate::config::{Host, PasswordSpec, Secret};

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

// End to end, through `PoolConfig::from_options` (expected values from pg 8.23.1 under the
// same options and environment).

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
