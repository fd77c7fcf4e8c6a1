//! Where the integration tests' database is, and throwaway clusters for the tests that must
//! stop a server. Never stop or reconfigure the shared server; start a [`ThrowawayCluster`].
//!
//! The database is found once per run by `scripts/test.js` (`npm test`), which hands it to
//! `cargo test` in `LDP_TEST_DATABASE_URL`. Run bare (`cargo test`), the tests use
//! `DATABASE_URL`, else the `PG*` variables, else 127.0.0.1:5432 as `postgres`, database `test`
//! (the default server can be moved with `LDP_TEST_DEFAULT_SERVER=host:port`, as in the
//! discovery `scripts/test.js` runs). Whatever is chosen must answer, or the first test to
//! ask panics saying how to get a database.
//!
//! Throwaway clusters are the JS helper's (`__test__/helpers/cluster.js`), driven through
//! `node scripts/cluster.js` over stdin/stdout, so there is one implementation of them.
//!
//! Use from an integration test: `mod common;` then `common::database()`.
#![allow(dead_code)]

use std::env;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

const REACH_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the tests' database is.
///
/// Invariant: `url` and the separate fields name the same server, role and database (`url` is
/// the handed-down or user-given URL verbatim, the fields are parsed from it, or both are
/// built from the `PG*` variables and defaults).
#[derive(Clone, Debug)]
pub struct Database {
    pub url: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
    pub password: Option<String>,
    /// Where it came from, for messages.
    pub describe: String,
}

static DATABASE: OnceLock<Result<Database, String>> = OnceLock::new();

/// The run's database (see the module docs). Chosen once per process; panics with a message
/// saying how to get one when the chosen server does not answer.
pub fn database() -> &'static Database {
    match DATABASE.get_or_init(choose) {
        Ok(db) => db,
        Err(msg) => panic!("{msg}"),
    }
}

/// The run's database as a libpq-style URL.
pub fn database_url() -> String {
    database().url.clone()
}

fn env_nonempty(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.is_empty())
}

fn choose() -> Result<Database, String> {
    let db = if let Some(url) = env_nonempty("LDP_TEST_DATABASE_URL") {
        let describe = env_nonempty("LDP_TEST_DATABASE_DESCRIBE")
            .unwrap_or_else(|| "LDP_TEST_DATABASE_URL (handed down by scripts/test.js)".into());
        from_url(&url, describe)?
    } else if let Some(url) = env_nonempty("DATABASE_URL") {
        from_url(&url, "DATABASE_URL".into())?
    } else {
        from_env()?
    };
    reachable(&db).map_err(|e| {
        format!(
            "no PostgreSQL server for the integration tests: {} at {}:{} does not answer ({e}).\n\
             Run `npm test` (it finds or starts a server and hands it to cargo test), or point \
             the tests at a server: DATABASE_URL=postgres://user:password@host:5432/dbname \
             cargo test --no-default-features",
            db.describe, db.host, db.port
        )
    })?;
    Ok(db)
}

fn from_url(url: &str, describe: String) -> Result<Database, String> {
    let u = url::Url::parse(url).map_err(|e| format!("{describe}: not a URL ({e}): {url}"))?;
    let query = |k: &str| {
        u.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    let host = query("host").unwrap_or_else(|| {
        let h = decode(u.host_str().unwrap_or(""));
        let h = h.trim_start_matches('[').trim_end_matches(']');
        if h.is_empty() { "localhost" } else { h }.to_string()
    });
    let port = match query("port") {
        Some(p) => p.parse().map_err(|_| format!("{describe}: bad port {p}"))?,
        None => u.port().unwrap_or(5432),
    };
    let user = query("user")
        .or_else(|| Some(decode(u.username())).filter(|s| !s.is_empty()))
        .or_else(|| env_nonempty("PGUSER"))
        .unwrap_or_else(|| "postgres".into());
    let password = query("password")
        .or_else(|| u.password().map(decode))
        .or_else(|| env_nonempty("PGPASSWORD"));
    let database = query("dbname")
        .or_else(|| Some(decode(u.path().trim_start_matches('/'))).filter(|s| !s.is_empty()))
        .unwrap_or_else(|| user.clone());
    Ok(Database {
        url: url.to_string(),
        host,
        port,
        user,
        database,
        password,
        describe,
    })
}

/// `%XX` escapes decoded (a URL's user, password, host and path are percent-encoded).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn from_env() -> Result<Database, String> {
    let (default_host, default_port) = match env_nonempty("LDP_TEST_DEFAULT_SERVER") {
        Some(spec) => {
            let (h, p) = spec
                .rsplit_once(':')
                .ok_or_else(|| format!("LDP_TEST_DEFAULT_SERVER must be host:port, got {spec}"))?;
            let p = p
                .parse()
                .map_err(|_| format!("LDP_TEST_DEFAULT_SERVER: bad port in {spec}"))?;
            (h.to_string(), p)
        }
        None => ("127.0.0.1".to_string(), 5432),
    };
    let set: Vec<&str> = ["PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD"]
        .into_iter()
        .filter(|k| env_nonempty(k).is_some())
        .collect();
    let host = env_nonempty("PGHOST").unwrap_or(default_host);
    let port = match env_nonempty("PGPORT") {
        Some(p) => p.parse().map_err(|_| format!("PGPORT: bad port {p}"))?,
        None => default_port,
    };
    let user = env_nonempty("PGUSER").unwrap_or_else(|| "postgres".into());
    let database = env_nonempty("PGDATABASE").unwrap_or_else(|| "test".into());
    let password = env_nonempty("PGPASSWORD");
    let mut url = url::Url::parse("postgres://localhost/").expect("a valid base URL");
    url.set_path(&database);
    let _ = url.set_username(&user);
    let _ = url.set_password(password.as_deref());
    let _ = url.set_port(Some(port));
    let url = if host.starts_with('/') {
        url.query_pairs_mut().append_pair("host", &host);
        url.to_string()
    } else {
        let _ = url.set_host(Some(&host));
        url.to_string()
    };
    let describe = if set.is_empty() {
        format!("the default server ({user}@{host}:{port}/{database})")
    } else {
        format!("the PG* environment ({})", set.join(", "))
    };
    Ok(Database {
        url,
        host,
        port,
        user,
        database,
        password,
        describe,
    })
}

/// Something accepts connections where `db` points (TCP, or a unix socket directory).
fn reachable(db: &Database) -> Result<(), String> {
    if db.host.starts_with('/') {
        let path = Path::new(&db.host).join(format!(".s.PGSQL.{}", db.port));
        return UnixStream::connect(&path)
            .map(drop)
            .map_err(|e| format!("{}: {e}", path.display()));
    }
    let addrs = (db.host.as_str(), db.port)
        .to_socket_addrs()
        .map_err(|e| e.to_string())?;
    let mut last = "no address".to_string();
    for a in addrs {
        match TcpStream::connect_timeout(&a, REACH_TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

// ---------------------------------------------------------------------------------------------
// throwaway clusters

/// A private PostgreSQL cluster on a free port of 127.0.0.1 (superuser `postgres`, trust),
/// run by `node scripts/cluster.js`, which this value drives over its stdin/stdout.
///
/// Invariants: the cluster exists from `start` until this value is dropped; dropping it closes
/// the driver's stdin, which stops the server and removes its directory (and so does the
/// death of this process, which closes the pipe too). Commands are answered one at a time.
pub struct ThrowawayCluster {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
    pub data_dir: PathBuf,
    pub socket_dir: PathBuf,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl ThrowawayCluster {
    /// Starts a cluster with the default settings; panics if it cannot.
    pub fn start() -> ThrowawayCluster {
        Self::start_with(serde_json::json!({}))
    }

    /// Starts a cluster with `startThrowawayCluster`'s options (`settings`, `hba`,
    /// `passwordUser`, `tls`, …; see `__test__/helpers/cluster.js`); panics if it cannot.
    pub fn start_with(options: Value) -> ThrowawayCluster {
        Self::try_start(options).unwrap_or_else(|e| panic!("throwaway cluster: {e}"))
    }

    pub fn try_start(options: Value) -> Result<ThrowawayCluster, String> {
        let node = env_nonempty("LDP_TEST_NODE").unwrap_or_else(|| "node".into());
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/cluster.js");
        let mut child = Command::new(&node)
            .arg(&script)
            .arg(options.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot run `{node} {}` ({e}); throwaway clusters need Node.js \
                     (set LDP_TEST_NODE to its path, or run the tests with `npm test`)",
                    script.display()
                )
            })?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut cluster = ThrowawayCluster {
            host: String::new(),
            port: 0,
            user: String::new(),
            database: String::new(),
            data_dir: PathBuf::new(),
            socket_dir: PathBuf::new(),
            child,
            stdin,
            stdout,
        };
        let ready = cluster.read_reply()?;
        let field = |k: &str| ready[k].as_str().unwrap_or_default().to_string();
        cluster.host = field("host");
        cluster.port = ready["port"].as_u64().unwrap_or(0) as u16;
        cluster.user = field("user");
        cluster.database = field("database");
        cluster.data_dir = field("dataDir").into();
        cluster.socket_dir = field("socketDir").into();
        Ok(cluster)
    }

    fn read_reply(&mut self) -> Result<Value, String> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => return Err("scripts/cluster.js exited without answering".into()),
            Err(e) => return Err(format!("reading from scripts/cluster.js: {e}")),
            Ok(_) => {}
        }
        let v: Value = serde_json::from_str(&line)
            .map_err(|e| format!("scripts/cluster.js answered {line:?}: {e}"))?;
        if v["ok"] == Value::Bool(true) {
            Ok(v)
        } else {
            Err(v["error"].as_str().unwrap_or(&line).to_string())
        }
    }

    fn command(&mut self, cmd: &str) {
        let stdin = self.stdin.as_mut().expect("the cluster is running");
        writeln!(stdin, "{cmd}")
            .and_then(|_| stdin.flush())
            .unwrap_or_else(|e| panic!("throwaway cluster: sending {cmd}: {e}"));
        if let Err(e) = self.read_reply() {
            panic!("throwaway cluster: {cmd} failed: {e}");
        }
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!(
            "postgres://{}@{}:{}/{}",
            self.user, self.host, self.port, self.database
        )
    }

    /// Stops the server (fast shutdown), keeping its directory: a "server is down" test.
    pub fn stop_server(&mut self) {
        self.command("stopServer");
    }

    /// Starts the stopped server again on the same port.
    pub fn start_server(&mut self) {
        self.command("startServer");
    }

    /// Stops and starts the server.
    pub fn restart(&mut self) {
        self.command("restart");
    }
}

impl Drop for ThrowawayCluster {
    fn drop(&mut self) {
        drop(self.stdin.take()); // end of input: the driver removes the cluster and exits
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) if Instant::now() > deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}
