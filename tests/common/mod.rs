//! Shared helpers for the Rust integration tests: find a REAL PostgreSQL server (never a
//! mock) and start throwaway clusters for tests that must stop, restart or misconfigure one.
//! Never stop or reconfigure the shared server; start a `ThrowawayCluster` instead.
//!
//! Same discovery as `__test__/helpers/db.js` (std only, no crate dependencies):
//!   0. `LDP_TEST_DATABASE_URL` (a result shared by a global setup)
//!   1. `DATABASE_URL`
//!   2. PG* environment (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD), if any is set
//!   3. 127.0.0.1:5432, user $PGUSER or `postgres` (then the OS user), database `test` if it
//!      exists, else `postgres`
//!   4. a throwaway cluster from the installed server binaries (initdb/pg_ctl/postgres),
//!      stopped and removed when the test process exits
//!   5. otherwise panic with a message saying what was tried and what to install.
//!
//! Probing speaks the wire protocol directly: StartupMessage, then AuthenticationOk followed by
//! ReadyForQuery means the server is usable. A cleartext password request is answered; other
//! password requests (md5/SCRAM) count as "up" only when a password was configured (they
//! cannot be verified without crypto crates).
//!
//! Environment knobs: `LDP_TEST_SKIP_DEFAULT=1` (skip step 3), `LDP_TEST_NO_THROWAWAY=1`
//! (skip step 4), `LDP_TEST_PG_BINDIR`, `LDP_TEST_PG_OS_USER` (unprivileged user that runs
//! clusters when the tests run as root; default `postgres`, then `nobody`), `LDP_TEST_TMPDIR`.
//!
//! Use from an integration test: `mod common;` then `common::database_url()`.
#![allow(dead_code)]

use std::env;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
const READY_TIMEOUT: Duration = Duration::from_secs(30);

const INSTALL_HINT: &str = "Fix one of:
  - point the tests at a server: DATABASE_URL=postgres://user:password@host:5432/dbname
    (or PGHOST / PGPORT / PGUSER / PGPASSWORD / PGDATABASE)
  - run PostgreSQL on 127.0.0.1:5432 with a \"postgres\" role (trust auth) and a \"test\" database
  - install the PostgreSQL server binaries so the tests can start a throwaway cluster:
      Debian/Ubuntu: apt-get install postgresql   (binaries land in /usr/lib/postgresql/<ver>/bin)
      Fedora/RHEL:   dnf install postgresql-server
      macOS:         brew install postgresql
    or set LDP_TEST_PG_BINDIR to the directory containing initdb, pg_ctl and postgres.";

// ---------------------------------------------------------------------------------------------
// public discovery API

/// Where the tests' database is. `url` is libpq-style: `postgres://user[:password]@host:port/db`
/// (or the user's DATABASE_URL verbatim).
#[derive(Clone, Debug)]
pub struct Database {
    pub url: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
    pub password: Option<String>,
    /// Human description of where it came from.
    pub describe: String,
}

static DATABASE: OnceLock<Database> = OnceLock::new();

/// URL of a working server for the tests (see the module docs). Discovered once per process.
pub fn database_url() -> String {
    database().url.clone()
}

/// The discovered database with its parts and a description. Discovered once per process.
pub fn database() -> &'static Database {
    DATABASE.get_or_init(discover)
}

// ---------------------------------------------------------------------------------------------
// small utilities

fn env_nonempty(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.is_empty())
}

fn env_flag(name: &str) -> bool {
    match env_nonempty(name) {
        Some(v) => !matches!(v.to_ascii_lowercase().as_str(), "0" | "false" | "no"),
        None => false,
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn build_url(host: &str, port: u16, user: &str, database: &str, password: Option<&str>) -> String {
    let auth = match password {
        Some(p) => format!("{}:{}", percent_encode(user), percent_encode(p)),
        None => percent_encode(user),
    };
    let host = if host.starts_with('/') {
        percent_encode(host)
    } else if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    format!(
        "postgres://{auth}@{host}:{port}/{}",
        percent_encode(database)
    )
}

fn redact(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        if let Some(at) = rest.find('@') {
            let userinfo = &rest[..at];
            if let Some(colon) = userinfo.find(':') {
                return format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &rest[at..]
                );
            }
        }
    }
    url.to_string()
}

fn os_user_name() -> Option<String> {
    env_nonempty("USER")
        .or_else(|| env_nonempty("LOGNAME"))
        .or_else(|| {
            let out = Command::new("id").arg("-un").output().ok()?;
            let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && !s.is_empty() {
                Some(s)
            } else {
                None
            }
        })
}

struct UrlParts {
    host: String,
    port: u16,
    user: String,
    database: String,
    password: Option<String>,
}

/// Parse `postgres[ql]://[user[:password]@][host][:port][/db][?host=..&port=..&user=..&dbname=..]`.
fn parse_url(url: &str) -> Option<UrlParts> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))?;
    let (rest, query) = match rest.find('?') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let (mut user, mut password) = (None, None);
    if let Some(ui) = userinfo {
        match ui.find(':') {
            Some(i) => {
                user = Some(percent_decode(&ui[..i]));
                password = Some(percent_decode(&ui[i + 1..]));
            }
            None => user = Some(percent_decode(ui)),
        }
    }
    let (mut host, mut port) = if let Some(h) = hostport.strip_prefix('[') {
        let end = h.find(']')?;
        let port = h[end + 1..].strip_prefix(':').map(str::to_string);
        (h[..end].to_string(), port)
    } else {
        match hostport.rfind(':') {
            Some(i) => (
                percent_decode(&hostport[..i]),
                Some(hostport[i + 1..].to_string()),
            ),
            None => (percent_decode(hostport), None),
        }
    };
    let mut database = if path.is_empty() {
        None
    } else {
        Some(percent_decode(path))
    };
    for kv in query.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let v = percent_decode(v);
        match k {
            "host" => host = v,
            "port" => port = Some(v),
            "user" => user = Some(v),
            "dbname" => database = Some(v),
            "password" => password = Some(v),
            _ => {}
        }
    }
    if host.is_empty() {
        host = "localhost".into();
    }
    let port = match port.filter(|p| !p.is_empty()) {
        Some(p) => p.parse().ok()?,
        None => 5432,
    };
    let user = user
        .filter(|u| !u.is_empty())
        .or_else(|| env_nonempty("PGUSER"))
        .or_else(os_user_name)
        .unwrap_or_else(|| "postgres".into());
    let database = database
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| user.clone());
    Some(UrlParts {
        host,
        port,
        user,
        database,
        password,
    })
}

// ---------------------------------------------------------------------------------------------
// a minimal wire-protocol client (probe + simple queries)

#[derive(Debug)]
pub enum ProbeError {
    /// Nothing answered (refused, timeout, unresolvable, no socket file).
    Unreachable(String),
    /// The server answered with an ErrorResponse (SQLSTATE, message).
    Server { code: String, message: String },
    /// The server wants a password we do not have (or cannot send).
    NeedsPassword(String),
    /// Something else went wrong mid-conversation.
    Protocol(String),
}

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeError::Unreachable(m) => write!(f, "unreachable: {m}"),
            ProbeError::Server { code, message } => write!(f, "{message} [{code}]"),
            ProbeError::NeedsPassword(m) => write!(f, "{m}"),
            ProbeError::Protocol(m) => write!(f, "protocol error: {m}"),
        }
    }
}

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

fn connect(host: &str, port: u16, timeout: Duration) -> Result<Box<dyn Stream>, ProbeError> {
    if host.starts_with('/') {
        let path = Path::new(host).join(format!(".s.PGSQL.{port}"));
        let s = UnixStream::connect(&path)
            .map_err(|e| ProbeError::Unreachable(format!("{}: {e}", path.display())))?;
        s.set_read_timeout(Some(timeout)).ok();
        s.set_write_timeout(Some(timeout)).ok();
        return Ok(Box::new(s));
    }
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| ProbeError::Unreachable(format!("{host}:{port}: {e}")))?;
    let mut last = format!("{host}:{port}: no addresses");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                s.set_read_timeout(Some(timeout)).ok();
                s.set_write_timeout(Some(timeout)).ok();
                s.set_nodelay(true).ok();
                return Ok(Box::new(s));
            }
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(ProbeError::Unreachable(last))
}

fn read_message(s: &mut dyn Stream) -> Result<(u8, Vec<u8>), ProbeError> {
    let mut head = [0u8; 5];
    s.read_exact(&mut head)
        .map_err(|e| ProbeError::Protocol(format!("reading reply: {e}")))?;
    let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]);
    if !(4..=(1 << 24)).contains(&len) {
        return Err(ProbeError::Protocol(format!(
            "bad message length {len} (not a PostgreSQL server?)"
        )));
    }
    let mut body = vec![0u8; len as usize - 4];
    s.read_exact(&mut body)
        .map_err(|e| ProbeError::Protocol(format!("reading reply: {e}")))?;
    Ok((head[0], body))
}

fn write_message(s: &mut dyn Stream, tag: u8, body: &[u8]) -> Result<(), ProbeError> {
    let mut msg = Vec::with_capacity(body.len() + 5);
    msg.push(tag);
    msg.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    msg.extend_from_slice(body);
    s.write_all(&msg)
        .map_err(|e| ProbeError::Protocol(format!("writing: {e}")))
}

fn parse_error(body: &[u8]) -> ProbeError {
    let (mut code, mut message) = (String::new(), String::new());
    for field in body.split(|b| *b == 0) {
        if let Some((&t, v)) = field.split_first() {
            let v = String::from_utf8_lossy(v).into_owned();
            match t {
                b'C' => code = v,
                b'M' => message = v,
                _ => {}
            }
        }
    }
    ProbeError::Server { code, message }
}

/// Open a session and return the stream once ReadyForQuery arrived.
/// `Ok(None)` means the server asked for md5/SCRAM with a password configured: it is up, but
/// this std-only client cannot log in.
fn open_session(
    host: &str,
    port: u16,
    user: &str,
    database: &str,
    password: Option<&str>,
    timeout: Duration,
) -> Result<Option<Box<dyn Stream>>, ProbeError> {
    let mut s = connect(host, port, timeout)?;
    let mut body = Vec::new();
    body.extend_from_slice(&196608i32.to_be_bytes()); // protocol 3.0
    for (k, v) in [
        ("user", user),
        ("database", database),
        ("application_name", "ldp-test-probe"),
    ] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut startup = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    startup.extend_from_slice(&body);
    s.write_all(&startup)
        .map_err(|e| ProbeError::Unreachable(format!("sending startup: {e}")))?;
    loop {
        let (tag, body) = read_message(&mut *s)?;
        match tag {
            b'R' => {
                if body.len() < 4 {
                    return Err(ProbeError::Protocol("short authentication message".into()));
                }
                let code = i32::from_be_bytes([body[0], body[1], body[2], body[3]]);
                match (code, password) {
                    (0, _) => {}
                    (3, Some(p)) => {
                        let mut pw = p.as_bytes().to_vec();
                        pw.push(0);
                        write_message(&mut *s, b'p', &pw)?;
                    }
                    (_, Some(_)) => return Ok(None),
                    (code, None) => {
                        let what = match code {
                            3 => "a cleartext password",
                            5 => "an md5 password",
                            10 => "SASL (SCRAM) authentication",
                            _ => "an unsupported authentication method",
                        };
                        return Err(ProbeError::NeedsPassword(format!(
                            "server requires {what} for user {user} but no password is configured"
                        )));
                    }
                }
            }
            b'E' => return Err(parse_error(&body)),
            b'Z' => return Ok(Some(s)),
            _ => {} // ParameterStatus, BackendKeyData, NoticeResponse, ...
        }
    }
}

fn terminate(mut s: Box<dyn Stream>) {
    let _ = write_message(&mut *s, b'X', &[]);
}

/// Ok if a session can be opened (see module docs for the password caveat).
pub fn probe(
    host: &str,
    port: u16,
    user: &str,
    database: &str,
    password: Option<&str>,
) -> Result<(), ProbeError> {
    if let Some(s) = open_session(host, port, user, database, password, PROBE_TIMEOUT)? {
        terminate(s);
    }
    Ok(())
}

/// Run SQL through the simple query protocol (trust or cleartext auth only); errors are returned.
pub fn simple_query(
    host: &str,
    port: u16,
    user: &str,
    database: &str,
    password: Option<&str>,
    sql: &str,
) -> Result<(), ProbeError> {
    let mut s = open_session(
        host,
        port,
        user,
        database,
        password,
        Duration::from_secs(30),
    )?
    .ok_or_else(|| {
        ProbeError::NeedsPassword(
            "md5/SCRAM login is not supported by the std-only test client".into(),
        )
    })?;
    let mut q = sql.as_bytes().to_vec();
    q.push(0);
    write_message(&mut *s, b'Q', &q)?;
    let mut err = None;
    loop {
        let (tag, body) = read_message(&mut *s)?;
        match tag {
            b'E' => err = Some(parse_error(&body)),
            b'Z' => break,
            _ => {}
        }
    }
    terminate(s);
    err.map_or(Ok(()), Err)
}

// ---------------------------------------------------------------------------------------------
// discovery

fn is_unreachable(e: &ProbeError) -> bool {
    matches!(e, ProbeError::Unreachable(_))
}

fn probe_server(
    host: &str,
    port: u16,
    users: &[String],
    databases: &[String],
    password: Option<&str>,
    label: &str,
    tried: &mut Vec<String>,
) -> Option<Database> {
    let mut seen = Vec::new();
    for user in users {
        for database in databases {
            if seen.contains(&(user, database)) {
                continue;
            }
            seen.push((user, database));
            match probe(host, port, user, database, password) {
                Ok(()) => {
                    let url = build_url(host, port, user, database, password);
                    return Some(Database {
                        describe: format!("{label} ({})", redact(&url)),
                        url,
                        host: host.to_string(),
                        port,
                        user: user.clone(),
                        database: database.clone(),
                        password: password.map(str::to_string),
                    });
                }
                Err(e) => {
                    tried.push(format!("{label} as {user}, database {database}: {e}"));
                    if is_unreachable(&e) {
                        return None;
                    }
                    if !matches!(&e, ProbeError::Server { code, .. } if code == "3D000") {
                        break; // not "database does not exist": try the next user
                    }
                }
            }
        }
    }
    None
}

fn probe_url(url: &str, describe: String, what: &str, tried: &mut Vec<String>) -> Option<Database> {
    let Some(p) = parse_url(url) else {
        eprintln!(
            "[test db helper] {what}={} is not a postgres:// URL; ignoring it",
            redact(url)
        );
        tried.push(format!("{what}={}: not a postgres:// URL", redact(url)));
        return None;
    };
    match probe(&p.host, p.port, &p.user, &p.database, p.password.as_deref()) {
        Ok(()) => Some(Database {
            url: url.to_string(),
            host: p.host,
            port: p.port,
            user: p.user,
            database: p.database,
            password: p.password,
            describe,
        }),
        Err(e) => {
            eprintln!(
                "[test db helper] {what}={} did not answer ({e}); trying the next option",
                redact(url)
            );
            tried.push(format!("{what}={}: {e}", redact(url)));
            None
        }
    }
}

fn discover() -> Database {
    let mut tried = Vec::new();

    if let Some(url) = env_nonempty("LDP_TEST_DATABASE_URL") {
        let describe = env_nonempty("LDP_TEST_DATABASE_DESCRIBE").unwrap_or_else(|| {
            format!(
                "shared test database from LDP_TEST_DATABASE_URL ({})",
                redact(&url)
            )
        });
        if let Some(db) = probe_url(&url, describe, "LDP_TEST_DATABASE_URL", &mut tried) {
            return db;
        }
    }

    match env_nonempty("DATABASE_URL") {
        Some(url) => {
            let describe = format!("DATABASE_URL ({})", redact(&url));
            if let Some(db) = probe_url(&url, describe, "DATABASE_URL", &mut tried) {
                return db;
            }
        }
        None => tried.push("DATABASE_URL: not set".into()),
    }

    let pg_vars: Vec<&str> = ["PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD"]
        .into_iter()
        .filter(|k| env_nonempty(k).is_some())
        .collect();
    if pg_vars.is_empty() {
        tried
            .push("PG* environment: none of PGHOST/PGPORT/PGUSER/PGDATABASE/PGPASSWORD set".into());
    } else {
        let label = format!(
            "PG* environment ({})",
            pg_vars
                .iter()
                .map(|k| if *k == "PGPASSWORD" {
                    "PGPASSWORD=***".to_string()
                } else {
                    format!("{k}={}", env::var(k).unwrap())
                })
                .collect::<Vec<_>>()
                .join(" ")
        );
        let host = env_nonempty("PGHOST").unwrap_or_else(|| "127.0.0.1".into());
        let port = env_nonempty("PGPORT")
            .and_then(|p| p.parse().ok())
            .unwrap_or(5432);
        let users = vec![env_nonempty("PGUSER").unwrap_or_else(|| "postgres".into())];
        let databases = match env_nonempty("PGDATABASE") {
            Some(d) => vec![d],
            None => vec!["test".into(), "postgres".into()],
        };
        let before = tried.len();
        if let Some(db) = probe_server(
            &host,
            port,
            &users,
            &databases,
            env_nonempty("PGPASSWORD").as_deref(),
            &label,
            &mut tried,
        ) {
            return db;
        }
        let last = tried[before..]
            .last()
            .cloned()
            .unwrap_or_else(|| "no answer".into());
        eprintln!("[test db helper] {label} did not answer ({last}); trying the next option");
    }

    if env_flag("LDP_TEST_SKIP_DEFAULT") {
        tried.push("127.0.0.1:5432: skipped (LDP_TEST_SKIP_DEFAULT is set)".into());
    } else {
        let mut users = vec![env_nonempty("PGUSER").unwrap_or_else(|| "postgres".into())];
        if let Some(u) = os_user_name() {
            if !users.contains(&u) {
                users.push(u);
            }
        }
        let databases = vec!["test".to_string(), "postgres".to_string()];
        let password = env_nonempty("PGPASSWORD");
        if let Some(db) = probe_server(
            "127.0.0.1",
            5432,
            &users,
            &databases,
            password.as_deref(),
            "local server at 127.0.0.1:5432",
            &mut tried,
        ) {
            return db;
        }
    }

    if env_flag("LDP_TEST_NO_THROWAWAY") {
        tried.push("throwaway cluster: skipped (LDP_TEST_NO_THROWAWAY is set)".into());
    } else {
        match ThrowawayCluster::try_start(ClusterOptions::default()) {
            Ok(cluster) => {
                let db = Database {
                    url: cluster.url(),
                    host: cluster.host.clone(),
                    port: cluster.port,
                    user: cluster.user.clone(),
                    database: cluster.database.clone(),
                    password: None,
                    describe: format!(
                        "throwaway cluster at 127.0.0.1:{} (data {}, binaries {}; removed when this process exits)",
                        cluster.port,
                        cluster.data_dir.display(),
                        cluster.bin_dir.display()
                    ),
                };
                // Lives for the rest of the process; the exit hook stops it and removes its files.
                std::mem::forget(cluster);
                return db;
            }
            Err(e) => tried.push(format!("throwaway cluster: {e}")),
        }
    }

    panic!(
        "[test db helper] no PostgreSQL server is available for the tests.\nTried:\n{}\n{INSTALL_HINT}",
        tried.iter().map(|t| format!("  - {}", t.replace('\n', "\n    "))).collect::<Vec<_>>().join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// server binaries, OS user, temp dirs

#[derive(Clone, Debug)]
pub struct ServerBinaries {
    pub bin_dir: PathBuf,
    pub initdb: PathBuf,
    pub pg_ctl: PathBuf,
    pub postgres: PathBuf,
}

fn is_executable(p: &Path) -> bool {
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn version_dirs(parent: &str, prefix: &str) -> Vec<PathBuf> {
    let mut found: Vec<(f64, PathBuf)> = fs::read_dir(parent)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let ver = name.strip_prefix(prefix)?;
            let ver = ver.trim_start_matches('@');
            let v = if ver.is_empty() {
                0.0
            } else {
                ver.parse::<f64>().ok()?
            };
            Some((v, e.path().join("bin")))
        })
        .collect();
    found.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
    found.into_iter().map(|(_, p)| p).collect()
}

/// Locate initdb, pg_ctl and postgres (all three in one directory).
pub fn find_server_binaries() -> Result<ServerBinaries, String> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(d) = env_nonempty("LDP_TEST_PG_BINDIR") {
        dirs.push(d.into());
    }
    if let Ok(out) = Command::new("pg_config")
        .arg("--bindir")
        .stderr(Stdio::null())
        .output()
    {
        let d = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && !d.is_empty() {
            dirs.push(d.into());
        }
    }
    dirs.extend(version_dirs("/usr/lib/postgresql", ""));
    dirs.extend(version_dirs("/usr", "pgsql-"));
    dirs.extend(version_dirs("/opt/homebrew/opt", "postgresql"));
    dirs.extend(version_dirs("/usr/local/opt", "postgresql"));
    dirs.push("/usr/local/pgsql/bin".into());
    if let Some(path) = env::var_os("PATH") {
        for d in env::split_paths(&path) {
            let initdb = d.join("initdb");
            if is_executable(&initdb) {
                dirs.push(d.clone());
                if let Ok(real) = fs::canonicalize(&initdb) {
                    if let Some(parent) = real.parent() {
                        dirs.push(parent.to_path_buf());
                    }
                }
            }
        }
    }
    let mut uniq: Vec<PathBuf> = Vec::new();
    for d in dirs {
        if !uniq.contains(&d) {
            uniq.push(d);
        }
    }
    for d in &uniq {
        let b = ServerBinaries {
            bin_dir: d.clone(),
            initdb: d.join("initdb"),
            pg_ctl: d.join("pg_ctl"),
            postgres: d.join("postgres"),
        };
        if is_executable(&b.initdb) && is_executable(&b.pg_ctl) && is_executable(&b.postgres) {
            return Ok(b);
        }
    }
    Err(format!(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; looked in: {}. Install them \
         (Debian/Ubuntu: apt-get install postgresql; Fedora/RHEL: dnf install postgresql-server; \
         macOS: brew install postgresql) or set LDP_TEST_PG_BINDIR.",
        uniq.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
    ))
}

unsafe extern "C" {
    fn geteuid() -> u32;
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { geteuid() == 0 }
}

#[derive(Clone, Debug)]
struct OsUser {
    name: String,
    uid: u32,
    gid: u32,
}

fn lookup_os_user(name: &str) -> Option<OsUser> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id")
            .args([flag, name])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    let (uid, gid) = match (id("-u"), id("-g")) {
        (Some(u), Some(g)) => (u, g),
        _ => {
            let passwd = fs::read_to_string("/etc/passwd").ok()?;
            let line = passwd.lines().find(|l| l.split(':').next() == Some(name))?;
            let parts: Vec<&str> = line.split(':').collect();
            (parts.get(2)?.parse().ok()?, parts.get(3)?.parse().ok()?)
        }
    };
    (uid != 0).then(|| OsUser {
        name: name.to_string(),
        uid,
        gid,
    })
}

/// None when not root; else the unprivileged user that owns and runs throwaway clusters.
fn cluster_os_user() -> Result<Option<OsUser>, String> {
    if !is_root() {
        return Ok(None);
    }
    let names = match env_nonempty("LDP_TEST_PG_OS_USER") {
        Some(n) => vec![n],
        None => vec!["postgres".to_string(), "nobody".to_string()],
    };
    for n in &names {
        if let Some(u) = lookup_os_user(n) {
            return Ok(Some(u));
        }
    }
    Err(format!(
        "running as root, and initdb/postgres refuse to run as root, but no unprivileged user was found \
         (tried {}). Create one (useradd --system postgres; the postgresql package does this) or set LDP_TEST_PG_OS_USER.",
        names.join(", ")
    ))
}

fn traversable_by_others(dir: &Path) -> bool {
    let mut d = Some(dir);
    while let Some(p) = d {
        match fs::metadata(p) {
            Ok(m) if m.permissions().mode() & 0o001 != 0 => {}
            _ => return false,
        }
        d = p.parent();
    }
    true
}

fn make_temp_dir(run_as: Option<&OsUser>) -> Result<PathBuf, String> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let mut parent = env_nonempty("LDP_TEST_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(env::temp_dir);
    if run_as.is_some() && !traversable_by_others(&parent) {
        parent = "/tmp".into();
    }
    // unix socket paths are limited to ~107 bytes
    if parent.as_os_str().len() + 40 > 100 {
        parent = "/tmp".into();
    }
    for _ in 0..100 {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = parent.join(format!(
            "ldp-pg-{}-{n}-{:x}",
            std::process::id(),
            nanos & 0xffff
        ));
        match fs::create_dir(&dir) {
            Ok(()) => {
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
                    .map_err(|e| e.to_string())?;
                if let Some(u) = run_as {
                    std::os::unix::fs::chown(&dir, Some(u.uid), Some(u.gid))
                        .map_err(|e| format!("chown {} to {}: {e}", dir.display(), u.name))?;
                }
                return Ok(dir);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("creating a temp dir in {}: {e}", parent.display())),
        }
    }
    Err("could not create a unique temp dir".into())
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind(("127.0.0.1", 0)).map_err(|e| format!("finding a free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------------
// process plumbing

/// A Command that runs as the cluster's OS user, in `cwd`, with a clean PG*/locale environment.
fn command_as(program: &Path, run_as: Option<&OsUser>, cwd: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(cwd).env("LC_ALL", "C").env("LANG", "C");
    for (k, _) in env::vars_os() {
        if k.to_string_lossy().starts_with("PG") {
            cmd.env_remove(k);
        }
    }
    if let Some(u) = run_as {
        cmd.uid(u.uid).gid(u.gid);
    }
    cmd
}

#[cfg(target_os = "linux")]
fn set_parent_death_signal(cmd: &mut Command) {
    unsafe extern "C" {
        fn prctl(option: i32, ...) -> i32;
    }
    const PR_SET_PDEATHSIG: i32 = 1;
    const SIGQUIT: std::os::raw::c_ulong = 3;
    // SAFETY: prctl is async-signal-safe; runs in the child after fork (and after setuid, so the
    // setting survives) right before exec.
    unsafe {
        cmd.pre_exec(|| {
            prctl(PR_SET_PDEATHSIG, SIGQUIT);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn set_parent_death_signal(_cmd: &mut Command) {}

/// Spawn from one long-lived thread: the parent-death signal fires when the spawning THREAD
/// exits, so spawning from a test thread would kill the server when that test ends.
fn spawn_from_keeper(cmd: Command) -> io::Result<Child> {
    type Req = (Command, mpsc::Sender<io::Result<Child>>);
    static KEEPER: OnceLock<Mutex<mpsc::Sender<Req>>> = OnceLock::new();
    let tx = KEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Req>();
        thread::Builder::new()
            .name("ldp-pg-keeper".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("spawning the postgres keeper thread");
        Mutex::new(tx)
    });
    let (rtx, rrx) = mpsc::channel();
    tx.lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((cmd, rtx))
        .map_err(|_| io::Error::other("keeper thread is gone"))?;
    rrx.recv()
        .map_err(|_| io::Error::other("keeper thread is gone"))?
}

struct LiveCluster {
    base_dir: PathBuf,
    data_dir: PathBuf,
    pg_ctl: PathBuf,
    run_as: Option<OsUser>,
}

static LIVE: Mutex<Vec<LiveCluster>> = Mutex::new(Vec::new());
static EXTRA_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

extern "C" fn cleanup_at_exit() {
    let live = std::mem::take(&mut *LIVE.lock().unwrap_or_else(|e| e.into_inner()));
    for c in live {
        if c.data_dir.join("postmaster.pid").exists() {
            let _ = command_as(&c.pg_ctl, c.run_as.as_ref(), &c.base_dir)
                .args(["stop", "-D"])
                .arg(&c.data_dir)
                .args(["-m", "immediate", "-w", "-t", "10"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = fs::remove_dir_all(&c.base_dir);
    }
    let extra = std::mem::take(&mut *EXTRA_DIRS.lock().unwrap_or_else(|e| e.into_inner()));
    for d in extra {
        let _ = fs::remove_dir_all(d);
    }
}

fn install_exit_hook() {
    unsafe extern "C" {
        fn atexit(cb: extern "C" fn()) -> i32;
    }
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        // SAFETY: registering a plain extern "C" function.
        unsafe {
            atexit(cleanup_at_exit);
        }
    });
}

fn sql_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn sql_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn conf_value(v: &str) -> String {
    // numbers and on/off are written bare; anything else is quoted
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        v.to_string()
    } else {
        sql_literal(v)
    }
}

// ---------------------------------------------------------------------------------------------
// throwaway clusters

/// A login role with a password, required (over TCP) to use `method`.
#[derive(Clone, Debug)]
pub struct PasswordUser {
    pub name: String,
    pub password: String,
    /// "scram-sha-256" (default), "md5" or "password".
    pub method: String,
}

#[derive(Clone, Debug, Default)]
pub struct ClusterOptions {
    /// Extra postgresql.conf settings, e.g. `("max_connections", "5")`.
    pub settings: Vec<(String, String)>,
    /// pg_hba.conf lines replacing the default trust lines ("local all postgres trust" always
    /// stays first so the helper can administer the cluster through its unix socket).
    pub hba: Option<Vec<String>>,
    pub password_users: Vec<PasswordUser>,
    /// Extra initdb arguments; otherwise a per-process initdb template is copied (faster).
    pub initdb_args: Vec<String>,
}

impl ClusterOptions {
    pub fn setting(mut self, name: &str, value: &str) -> Self {
        self.settings.push((name.into(), value.into()));
        self
    }
    pub fn hba_line(mut self, line: &str) -> Self {
        self.hba.get_or_insert_with(Vec::new).push(line.into());
        self
    }
    pub fn password_user(mut self, name: &str, password: &str, method: &str) -> Self {
        self.password_users.push(PasswordUser {
            name: name.into(),
            password: password.into(),
            method: method.into(),
        });
        self
    }
}

/// A private PostgreSQL cluster in a temp directory on a free port of 127.0.0.1 (unix socket in
/// that directory), run as an unprivileged user when the tests run as root. Dropping it stops
/// the server and removes the directory; so does process exit, and (Linux) the kernel sends the
/// server SIGQUIT if the test process dies.
pub struct ThrowawayCluster {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
    pub base_dir: PathBuf,
    pub data_dir: PathBuf,
    pub socket_dir: PathBuf,
    pub log_file: PathBuf,
    pub bin_dir: PathBuf,
    bins: ServerBinaries,
    run_as: Option<OsUser>,
    child: Option<Child>,
    removed: bool,
}

impl ThrowawayCluster {
    /// Start with default options; panics with an explanation on failure.
    pub fn start() -> ThrowawayCluster {
        Self::start_with(ClusterOptions::default())
    }

    /// Start with options; panics with an explanation on failure.
    pub fn start_with(opts: ClusterOptions) -> ThrowawayCluster {
        Self::try_start(opts).unwrap_or_else(|e| {
            panic!("[test db helper] could not start a throwaway cluster: {e}\n{INSTALL_HINT}")
        })
    }

    pub fn try_start(opts: ClusterOptions) -> Result<ThrowawayCluster, String> {
        let bins = find_server_binaries()?;
        let run_as = cluster_os_user()?;
        for u in &opts.password_users {
            if !["scram-sha-256", "md5", "password"].contains(&u.method.as_str()) {
                return Err(format!("unsupported password method {}", u.method));
            }
        }
        install_exit_hook();
        let base_dir = make_temp_dir(run_as.as_ref())?;
        let data_dir = base_dir.join("data");
        LIVE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(LiveCluster {
                base_dir: base_dir.clone(),
                data_dir: data_dir.clone(),
                pg_ctl: bins.pg_ctl.clone(),
                run_as: run_as.clone(),
            });
        let mut cluster = ThrowawayCluster {
            host: "127.0.0.1".into(),
            port: 0,
            user: "postgres".into(),
            database: "postgres".into(),
            socket_dir: base_dir.clone(),
            log_file: base_dir.join("postgres.log"),
            bin_dir: bins.bin_dir.clone(),
            base_dir,
            data_dir,
            bins,
            run_as,
            child: None,
            removed: false,
        };
        // on error, dropping `cluster` stops and removes whatever was created
        cluster.init_data_dir(&opts.initdb_args)?;
        let conf = cluster.data_dir.join("postgresql.conf");
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .map_err(|e| format!("{}: {e}", conf.display()))?;
        writeln!(f, "\ninclude 'ldp_test.conf'").map_err(|e| e.to_string())?;
        cluster.write_hba(&opts)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            cluster.port = free_port()?;
            cluster.write_conf(&opts)?;
            match cluster.try_start_server() {
                Ok(()) => break,
                Err((msg, bind_failure)) => {
                    if !bind_failure || attempt >= 5 {
                        return Err(msg);
                    }
                }
            }
        }
        for u in &opts.password_users {
            let enc = if u.method == "md5" {
                "md5"
            } else {
                "scram-sha-256"
            };
            cluster
                .execute(&format!(
                    "SET password_encryption = '{enc}'; CREATE ROLE {ident} LOGIN PASSWORD {pw}; GRANT ALL ON SCHEMA public TO {ident}",
                    ident = sql_ident(&u.name),
                    pw = sql_literal(&u.password)
                ))
                .map_err(|e| format!("creating role {}: {e}", u.name))?;
        }
        Ok(cluster)
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`
    pub fn url(&self) -> String {
        build_url(&self.host, self.port, &self.user, &self.database, None)
    }

    /// URL for another role (e.g. a `PasswordUser`).
    pub fn url_for(&self, user: &str, password: Option<&str>) -> String {
        build_url(&self.host, self.port, user, &self.database, password)
    }

    fn initdb(&self, data_dir: &Path, cwd: &Path, extra: &[String]) -> Result<(), String> {
        let out = command_as(&self.bins.initdb, self.run_as.as_ref(), cwd)
            .arg("-D")
            .arg(data_dir)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "-N",
            ])
            .args(extra)
            .output()
            .map_err(|e| format!("running {}: {e}", self.bins.initdb.display()))?;
        if !out.status.success() {
            let who = self
                .run_as
                .as_ref()
                .map(|u| format!(", as OS user {}", u.name))
                .unwrap_or_default();
            return Err(format!(
                "initdb failed ({}{who}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    }

    fn init_data_dir(&self, extra: &[String]) -> Result<(), String> {
        if !extra.is_empty() {
            return self.initdb(&self.data_dir, &self.base_dir, extra);
        }
        // initdb takes about a second: later clusters of this process copy a pristine template.
        static TEMPLATE: Mutex<Option<PathBuf>> = Mutex::new(None);
        let template = {
            let mut guard = TEMPLATE.lock().unwrap_or_else(|e| e.into_inner());
            match &*guard {
                Some(t) => t.clone(),
                None => {
                    let dir = make_temp_dir(self.run_as.as_ref())?;
                    EXTRA_DIRS
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(dir.clone());
                    let t = dir.join("template");
                    self.initdb(&t, &dir, &[])?;
                    *guard = Some(t.clone());
                    t
                }
            }
        };
        let copied = command_as(Path::new("cp"), self.run_as.as_ref(), &self.base_dir)
            .arg("-a")
            .arg(&template)
            .arg(&self.data_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !copied {
            let _ = fs::remove_dir_all(&self.data_dir);
            return self.initdb(&self.data_dir, &self.base_dir, &[]);
        }
        Ok(())
    }

    fn write_conf(&self, opts: &ClusterOptions) -> Result<(), String> {
        let mut settings: Vec<(String, String)> = vec![
            ("listen_addresses".into(), "'127.0.0.1'".into()),
            ("port".into(), self.port.to_string()),
            (
                "unix_socket_directories".into(),
                sql_literal(&self.base_dir.to_string_lossy()),
            ),
            ("fsync".into(), "off".into()),
            ("synchronous_commit".into(), "off".into()),
            ("full_page_writes".into(), "off".into()),
            ("logging_collector".into(), "off".into()),
        ];
        settings.extend(
            opts.settings
                .iter()
                .map(|(k, v)| (k.clone(), conf_value(v))),
        );
        let body: String = settings
            .iter()
            .map(|(k, v)| format!("{k} = {v}\n"))
            .collect();
        let path = self.data_dir.join("ldp_test.conf");
        fs::write(&path, format!("# written by tests/common/mod.rs\n{body}"))
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    fn write_hba(&self, opts: &ClusterOptions) -> Result<(), String> {
        let mut lines = vec![
            "# written by tests/common/mod.rs".to_string(),
            "local all postgres trust".to_string(),
        ];
        for u in &opts.password_users {
            lines.push(format!("host all \"{}\" 127.0.0.1/32 {}", u.name, u.method));
            lines.push(format!("host all \"{}\" ::1/128 {}", u.name, u.method));
        }
        match &opts.hba {
            Some(h) => lines.extend(h.iter().cloned()),
            None => lines.extend(
                [
                    "local all all trust",
                    "host all all 127.0.0.1/32 trust",
                    "host all all ::1/128 trust",
                ]
                .map(String::from),
            ),
        }
        let path = self.data_dir.join("pg_hba.conf");
        fs::write(&path, lines.join("\n") + "\n").map_err(|e| format!("{}: {e}", path.display()))
    }

    fn admin_probe(&self) -> Result<(), ProbeError> {
        // the socket lives in our private directory, so an answer proves it is OUR server
        probe(
            &self.socket_dir.to_string_lossy(),
            self.port,
            "postgres",
            "postgres",
            None,
        )
    }

    /// Run SQL as the superuser through the cluster's unix socket.
    pub fn execute(&self, sql: &str) -> Result<(), String> {
        simple_query(
            &self.socket_dir.to_string_lossy(),
            self.port,
            "postgres",
            "postgres",
            None,
            sql,
        )
        .map_err(|e| e.to_string())
    }

    pub fn read_log(&self) -> String {
        fs::read_to_string(&self.log_file).unwrap_or_default()
    }

    /// True while a postmaster owns the data directory.
    pub fn is_running(&self) -> bool {
        self.data_dir.join("postmaster.pid").exists()
    }

    fn child_alive(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Err((message, port-bind failure?))
    fn try_start_server(&mut self) -> Result<(), (String, bool)> {
        if self.removed {
            return Err(("cluster already removed".into(), false));
        }
        if self.is_running() && self.admin_probe().is_ok() {
            return Ok(());
        }
        let log_offset = self.read_log().len();
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_file)
            .map_err(|e| (format!("{}: {e}", self.log_file.display()), false))?;
        if let Some(u) = &self.run_as {
            let _ = std::os::unix::fs::chown(&self.log_file, Some(u.uid), Some(u.gid));
        }
        let log2 = log.try_clone().map_err(|e| (e.to_string(), false))?;
        let mut cmd = command_as(&self.bins.postgres, self.run_as.as_ref(), &self.base_dir);
        cmd.arg("-D")
            .arg(&self.data_dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        set_parent_death_signal(&mut cmd);
        let child = spawn_from_keeper(cmd).map_err(|e| {
            (
                format!("spawning {}: {e}", self.bins.postgres.display()),
                false,
            )
        })?;
        self.child = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if !self.child_alive() {
                let log = self.read_log();
                let new = log.get(log_offset..).unwrap_or(&log);
                let bind = [
                    "could not bind",
                    "could not create any TCP/IP sockets",
                    "Address already in use",
                ]
                .iter()
                .any(|p| new.contains(p));
                let tail: Vec<&str> = new
                    .trim_end()
                    .lines()
                    .rev()
                    .take(20)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                return Err((
                    format!("postgres exited during startup; log:\n{}", tail.join("\n")),
                    bind,
                ));
            }
            match self.admin_probe() {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    if let Some(c) = &mut self.child {
                        let _ = c.kill();
                        let _ = c.wait();
                    }
                    return Err((
                        format!("postgres did not become ready in {READY_TIMEOUT:?} ({e})"),
                        false,
                    ));
                }
                Err(_) => thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Start the server again (after `stop_server`) on the same port; panics on failure.
    pub fn start_server(&mut self) {
        if let Err((msg, _)) = self.try_start_server() {
            panic!("[test db helper] could not start the throwaway cluster: {msg}");
        }
    }

    /// Stop the server (fast shutdown) but keep its files, e.g. to test "server is down".
    pub fn stop_server(&mut self) {
        self.stop_server_mode("fast");
    }

    fn stop_server_mode(&mut self, mode: &str) {
        if self.is_running() {
            let _ = command_as(&self.bins.pg_ctl, self.run_as.as_ref(), &self.base_dir)
                .args(["stop", "-D"])
                .arg(&self.data_dir)
                .args(["-m", mode, "-w", "-t", "60"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        if let Some(mut c) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match c.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() > deadline => {
                        let _ = c.kill();
                        let _ = c.wait();
                        break;
                    }
                    Ok(None) => thread::sleep(Duration::from_millis(20)),
                }
            }
        }
    }

    /// Stop and start again on the same port.
    pub fn restart(&mut self) {
        self.stop_server();
        self.start_server();
    }

    /// Run `pg_ctl -D <data dir> <args>` as the cluster's OS user (`-l <log>` is added to
    /// start/restart when missing).
    pub fn pg_ctl(&self, args: &[&str]) -> Output {
        let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        if matches!(args.first(), Some(&"start") | Some(&"restart")) && !args.contains(&"-l") {
            a.push("-l".into());
            a.push(self.log_file.to_string_lossy().into_owned());
        }
        command_as(&self.bins.pg_ctl, self.run_as.as_ref(), &self.base_dir)
            .arg("-D")
            .arg(&self.data_dir)
            .args(&a)
            .stdin(Stdio::null())
            .output()
            .expect("running pg_ctl")
    }

    /// Stop the server and remove its directory (same as dropping it).
    pub fn stop(self) {
        drop(self)
    }

    fn remove(&mut self) {
        if self.removed {
            return;
        }
        self.stop_server_mode("fast");
        self.removed = true;
        let _ = fs::remove_dir_all(&self.base_dir);
        LIVE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|c| c.base_dir != self.base_dir);
    }
}

impl Drop for ThrowawayCluster {
    fn drop(&mut self) {
        self.remove();
    }
}
