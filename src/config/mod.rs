//! Pool configuration: a user's options object (as JSON) plus the environment, turned
//! into a validated, typed [`PoolConfig`] with node-postgres's semantics.
//!
//! * Connection settings follow pg's `ConnectionParameters` and `Client`
//!   (`connect/`, the string parsed in `connstring/`): the connection string is laid over the options
//!   (`Object.assign({}, config, parse(connectionString))`, so its keys win, even empty
//!   ones), then each setting is taken from the merged object if truthy, else from its
//!   `PG*` environment variable, else from pg's global defaults (`pg.defaults`, a separate
//!   layer the JS layer finds in the app's pg, never merged into the options), else from pg's
//!   stock default.
//! * Pool settings follow pg-pool (`max || poolSize || 10`, `idleTimeoutMillis` default
//!   10000, `maxUses || Infinity`, ...) and are read from the options only (`pool.rs`).
//! * JS values that JSON cannot carry arrive as strings (`"Infinity"`, `"NaN"`) and
//!   functions as `{"$function": true}` (see `value.rs`).
//! * Unknown keys are ignored, as pg ignores them. Invalid values are errors, never a
//!   silent default.
//! * Only what the core uses is read here. Options only the JS layer uses (hooks, `types`,
//!   `captureStacks`, `stackTraceLimit`, `ignoreFrames`, `alertBufferSize`,
//!   `allowExitOnIdle`) are validated there and never sent; the JS layer reads everything
//!   else from [`ResolvedOptions`].

mod account;
mod auth;
mod connect;
mod connstring;
mod error;
#[cfg(test)]
mod fixtures;
mod pool;
mod ssl;
mod value;
mod view;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

pub use auth::{AuthKind, AuthPolicy, ChannelBinding, RequireAuth};
use error::Origin;
pub use error::{ConfigError, ConfigErrorKind};
pub(crate) use ssl::ca_trust_store;
use value::show;
pub use view::ResolvedOptions;

/// Everything a pool needs to know, validated.
///
/// Invariants: `1 <= max`, `min <= max`; every `Option<Duration>` is `None` exactly when
/// the corresponding feature is disabled (never `Some(Duration::ZERO)`); `connect` and
/// `leak`/`metrics` satisfy their own invariants.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolConfig {
    /// How to open one connection.
    pub connect: ConnectConfig,
    /// Maximum number of connections (`max`, alias `poolSize`; 0 or absent means 10).
    pub max: usize,
    /// Connections kept open even when idle (`min`, default 0).
    pub min: usize,
    /// `idleTimeoutMillis` (default 10000); `None` when 0 (or `null`, as in pg): never.
    pub idle_timeout: Option<Duration>,
    /// `connectionTimeoutMillis`: bound on waiting for a client, and on connecting;
    /// `None` (0 or absent) waits forever.
    pub connection_timeout: Option<Duration>,
    /// `maxUses`: checkouts before a connection is retired; `None` is Infinity.
    pub max_uses: Option<u64>,
    /// `maxLifetimeSeconds`; `None` when 0.
    pub max_lifetime: Option<Duration>,
    /// `maxWaiting`: bound on queued callers (those waiting for their tag included); `None`
    /// is Infinity.
    pub max_waiting: Option<usize>,
    /// `tagLimits` (default none): the most connections checkouts with each tag may hold at
    /// once. Every limit is `>= 1`.
    pub tag_limits: BTreeMap<String, usize>,
    /// `healthCheckIntervalMs` (default 0: off): connections idle this long get an empty
    /// query, one at a time, and are evicted if it fails or goes unanswered.
    pub health_check_interval: Option<Duration>,
    /// `statementCacheSize`: prepared statements kept per connection; 0 disables.
    pub statement_cache_size: usize,
    /// `maxMessageSize` (default 1 GiB): the most bytes a backend message carrying data
    /// (rows, errors, notices, notifications …) may declare; other messages are bounded by
    /// libpq's 30,000 bytes. A message over its bound fails its connection as a protocol
    /// error before its body is read.
    pub max_message_size: usize,
    /// `maxQueuedEvents` (default 10000): notifications and notices waiting for their
    /// receiver (the JS thread), and notices kept within one query; beyond it the newest
    /// are dropped and counted. Always `>= 1`.
    pub max_queued_events: usize,
    /// `query_timeout` (client-side, ms); `None` when false/0/absent. Resolved here because
    /// pg reads it from the connection string too; the JS layer enforces it (a timer per
    /// query) and reads it from [`ResolvedOptions`].
    pub query_timeout: Option<Duration>,
    /// pg's binary mode: `binary` || `pg.defaults.binary` (default false). Resolved here
    /// because pg.defaults is a layer the core resolves; the JS layer asks for binary results
    /// and reads it from [`ResolvedOptions`].
    pub binary: bool,
    /// The keys of `pg.defaults` whose value a setting took (none when the options, the
    /// connection string or the environment decided everything).
    pub from_pg_defaults: BTreeSet<String>,
    /// `endTimeoutMs` (default 10000): how long `end()` waits for checked-out clients.
    pub end_timeout: Duration,
    /// Leak detection settings.
    pub leak: LeakConfig,
    /// Metrics settings.
    pub metrics: MetricsConfig,
}

/// Leak detection settings.
///
/// Invariants: `check_interval > 0`, `max_leaks_before_alert >= 1`;
/// `threshold`/`force_release_after` are `None` when disabled (0, or Infinity), never
/// `Some(ZERO)`.
#[derive(Debug, Clone, PartialEq)]
pub struct LeakConfig {
    /// `leakThresholdMs` (default 30000); `None` (0 or Infinity): checkouts are never
    /// reported by age.
    pub threshold: Option<Duration>,
    /// `checkIntervalMs` (default 1000).
    pub check_interval: Duration,
    /// `maxLeaksBeforeAlert` (default 1).
    pub max_leaks_before_alert: usize,
    /// `forceReleaseAfterMs` (default 300000); `None` (0 or Infinity) never reclaims.
    pub force_release_after: Option<Duration>,
}

/// Metrics settings.
///
/// Invariant: `interval > 0`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsConfig {
    /// `metricsHistorySize`: capacity of the history ring buffer (default 100).
    pub history_size: usize,
    /// `metricsIntervalMs`: sampling cadence (default 10000).
    pub interval: Duration,
}

/// Where the server is.
///
/// Invariant: a `Unix` path is absolute (pg treats a host starting with `/` as a socket
/// directory); the socket file is `<dir>/.s.PGSQL.<port>`. A `Tcp` host never starts
/// with `/` and is never empty (pg's default is `localhost`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A host name or IP address (IPv6 without brackets).
    Tcp(String),
    /// A directory containing the server's socket.
    Unix(PathBuf),
}

/// How to open one connection.
///
/// Invariants: `port >= 1`; `startup_params` is exactly what pg's `Client` sends, in
/// pg's order: `user`, `database`, then if set `application_name` (or
/// `fallback_application_name`), `replication`, `statement_timeout`, `lock_timeout`,
/// `idle_in_transaction_session_timeout`, `options`, and always last
/// `client_encoding` = `UTF8`; `user`/`database` equal the first two values.
/// `user` is empty only if nothing names one and the process's account has no name (the
/// server then refuses the connection). `connect_timeout` is never `Some(ZERO)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectConfig {
    /// Server location (default `localhost`, `PGHOST`).
    pub host: Host,
    /// Server port (default 5432, `PGPORT`).
    pub port: u16,
    /// Role name: `user` || `PGUSER` || `pg.defaults.user` || `USER` (pg's), else the account
    /// the process runs as (libpq's fallback, where pg would send none).
    pub user: String,
    /// The password, or that the JS layer supplies one per connection.
    pub password: PasswordSpec,
    /// Database: `database` || `PGDATABASE` || `pg.defaults.database` || the user name.
    pub database: String,
    /// TLS settings.
    pub ssl: SslConfig,
    /// Startup message parameters, see the type's invariants.
    pub startup_params: Vec<(String, String)>,
    /// `keepAlive` (pg's default: false).
    pub keep_alive: bool,
    /// `keepAliveInitialDelayMillis` (default 0).
    pub keep_alive_initial_delay: Duration,
    /// `connectionTimeoutMillis` (ms), or `PGCONNECT_TIMEOUT` (s) when that option is absent.
    pub connect_timeout: Option<Duration>,
    /// `scramMaxIterations`: the highest SCRAM iteration count the server may ask for before
    /// the client refuses to hash (pg's default 100000; `0` disables the check). Kept as pg
    /// coerces it (any finite number, from a number or a numeric string), so a negative value
    /// refuses every SCRAM exchange, as in pg.
    pub scram_max_iterations: f64,
    /// Which authentication methods the server may use and whether SCRAM must be bound to the
    /// TLS channel (`requireAuth`/`require_auth`, `channelBinding`/`channel_binding`,
    /// `enableChannelBinding`, `PGREQUIREAUTH`, `PGCHANNELBINDING`; see `auth.rs`).
    pub auth: AuthPolicy,
}

impl ConnectConfig {
    /// The application name pg sends: `application_name` || `PGAPPNAME` ||
    /// `fallback_application_name`.
    pub fn application_name(&self) -> Option<&str> {
        self.startup_params
            .iter()
            .find(|(k, _)| k == "application_name")
            .map(|(_, v)| v.as_str())
    }

    /// The startup parameter `key` as sent, if it is sent.
    pub fn startup_param(&self, key: &str) -> Option<String> {
        self.startup_params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }
}

/// Where the password comes from.
///
/// Invariant: `Static` never holds an empty string (pg treats `''` as no password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSpec {
    /// No password (options, connection string and `PGPASSWORD` gave none).
    None,
    /// A fixed password.
    Static(Secret),
    /// `password` was a function: the JS layer supplies the password per connection.
    Dynamic,
}

/// A secret string (password, private key).
///
/// Invariant: `Debug` and `Display` print `********`; only [`Secret::expose`] reveals it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

/// Whether and how to use TLS.
///
/// Invariant: `Enabled` means TLS is required (pg never falls back to plain text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SslConfig {
    /// Plain text.
    Disabled,
    /// TLS with these options.
    Enabled(TlsOptions),
}

/// TLS options (node's `tls.connect` subset pg users pass).
///
/// Invariants: `ca`, `cert`, `key` and `servername` are `None` rather than empty; an
/// array of PEMs given for `ca`/`cert`/`key` is joined with `\n`; `key` is redacted in
/// `Debug`. From [`PoolConfig::from_options`], `ca` holds at least one PEM certificate and
/// every certificate in it is usable as a trust anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    /// Verify the server certificate (default true).
    pub reject_unauthorized: bool,
    /// Trusted CA certificates (PEM). When given they are the only ones trusted (Node's `ca`
    /// replaces its default roots); `None` means the pool's default roots (from the JS layer:
    /// what Node's own TLS trusts, its bundled roots plus `NODE_EXTRA_CA_CERTS`).
    pub ca: Option<String>,
    /// Client certificate chain (PEM).
    pub cert: Option<String>,
    /// Client private key (PEM).
    pub key: Option<Secret>,
    /// SNI / verification name (default: the host).
    pub servername: Option<String>,
    /// Whether the certificate must name the host (or `servername`) when it is verified.
    /// `false` only for the connection string's libpq modes that check the chain alone
    /// (`uselibpqcompat=true` with `sslmode=verify-ca`, or `sslmode=require` with
    /// `sslrootcert`), which pg implements with a no-op `checkServerIdentity`.
    pub verify_host: bool,
    /// `minVersion`/`maxVersion` (Node's defaults: TLS 1.2 to TLS 1.3). TLS 1.0 and 1.1 are
    /// never offered, so `min_version` is at least [`TlsVersion::Tls12`].
    pub min_version: TlsVersion,
    pub max_version: TlsVersion,
    /// How the TLS session is started (`sslnegotiation`, default `postgres`).
    pub negotiation: SslNegotiation,
}

/// A TLS protocol version this client can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

/// pg's `sslnegotiation`: how a TLS connection starts.
///
/// Invariant: it exists only inside [`TlsOptions`], so `Direct` always comes with TLS on
/// (pg: "sslnegotiation=direct requires SSL to be enabled").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslNegotiation {
    /// Send `SSLRequest`, wait for the server's `S`, then start TLS (every server version).
    #[default]
    Postgres,
    /// Start the TLS handshake at once, with ALPN `postgresql` (PostgreSQL 17 and later).
    Direct,
}

impl SslNegotiation {
    /// The option's value as pg spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            SslNegotiation::Postgres => "postgres",
            SslNegotiation::Direct => "direct",
        }
    }
}

impl PoolConfig {
    /// Validates `opts` (a JSON object, or null for all defaults) against `env`.
    pub fn from_options(
        opts: &Value,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<PoolConfig, ConfigError> {
        PoolConfig::from_options_and_defaults(opts, &Value::Null, env)
    }

    /// [`from_options`](Self::from_options) with pg's global defaults beneath the options and
    /// the environment: `pg_defaults` is an object of `pg.defaults` keys (`host`, `port`,
    /// `user`, `database`, `password`, `ssl`, `sslnegotiation`, `options`, `binary`,
    /// `client_encoding`, `application_name`, `fallback_application_name`, the server-side
    /// timeouts, `query_timeout`) whose values differ from pg's stock ones, or null. Its values
    /// are validated as the options are; an error names them `pg.defaults.<key>`.
    pub fn from_options_and_defaults(
        opts: &Value,
        pg_defaults: &Value,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<PoolConfig, ConfigError> {
        PoolConfig::from_options_with(opts, pg_defaults, env, &account::os_user)
    }

    /// [`from_options_and_defaults`](Self::from_options_and_defaults) with the process's
    /// account name from `os_user`.
    pub(crate) fn from_options_with(
        opts: &Value,
        pg_defaults: &Value,
        env: &dyn Fn(&str) -> Option<String>,
        os_user: &dyn Fn() -> Option<String>,
    ) -> Result<PoolConfig, ConfigError> {
        let empty = Map::new();
        let map = object(opts, &empty, Origin::Opt("options"))?;
        let defaults = object(pg_defaults, &empty, Origin::Opt("pg.defaults"))?;
        let resolved = connect::resolve(map, defaults, env, os_user)?;
        PoolConfig::build(map, resolved)
    }
}

/// `v` as an object (`empty` for null), else a `Type` error naming `origin`.
fn object<'v>(
    v: &'v Value,
    empty: &'v Map<String, Value>,
    origin: Origin<'_>,
) -> Result<&'v Map<String, Value>, ConfigError> {
    match v {
        Value::Null => Ok(empty),
        Value::Object(m) => Ok(m),
        other => Err(ConfigError::type_err(origin, "an object", &show(other))),
    }
}

#[cfg(test)]
mod tests;
