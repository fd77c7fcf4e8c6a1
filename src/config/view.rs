//! The resolved options as the JS layer reads them.
//!
//! The core parses and validates the options once ([`PoolConfig::from_options`]); the JS
//! layer never re-derives a default or re-reads the connection string to decide anything: it
//! reads this view. (It echoes a connection string's SSL parameters in `client.ssl` the way
//! pg shows them, files' contents and key included, which this view never holds.)
//! What only the JS layer uses (hooks, `types`, stack capture, the alert buffer,
//! `allowExitOnIdle`) is neither here nor in [`PoolConfig`]: the JS layer validates it.

use std::time::Duration;

use serde::Serialize;

use super::{Host, PoolConfig, SslConfig, SslNegotiation};

/// A [`PoolConfig`] with every default applied, the connection string and the `PG*`
/// environment merged, and the password left out.
///
/// Invariants: it is computed from a validated [`PoolConfig`] and never holds a secret;
/// durations are milliseconds (fractions kept), and a disabled setting is `0`, except the two
/// unbounded counts, which are `null` for Infinity. Field names are the options' names.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedOptions {
    /// The host name, or the socket directory of a unix socket (what pg reports as `host`).
    pub host: String,
    pub port: u16,
    /// The role the pool connects as (see [`super::ConnectConfig::user`]).
    pub user: String,
    pub database: String,
    /// What is sent as `application_name`, if anything.
    pub application_name: Option<String>,
    /// Whether connections use TLS.
    pub ssl: bool,
    /// Whether the server's certificate is verified: `false` only when TLS is on without
    /// verification (`rejectUnauthorized: false`, `no-verify`), which pg shows in `client.ssl`.
    pub ssl_reject_unauthorized: bool,
    /// How TLS starts: `postgres` (also when TLS is off, as pg's client reports it) or `direct`.
    pub sslnegotiation: &'static str,
    /// See [`super::ConnectConfig::scram_max_iterations`].
    pub scram_max_iterations: f64,
    /// The methods the server may use, as given and normalised to a comma-separated list
    /// (`scram-sha-256,none`, `!password,!md5`), from the connection string's `require_auth`,
    /// else `requireAuth`, else `PGREQUIREAUTH`; `null`: any method (no requirement).
    pub require_auth: Option<String>,
    /// Whether SCRAM is bound to the TLS channel: `disable`, `prefer` (the default) or
    /// `require`, from `channel_binding`, `channelBinding`, `enableChannelBinding`, else
    /// `PGCHANNELBINDING`.
    pub channel_binding: &'static str,
    /// Startup parameters as sent to the server (`options`, the server-side timeouts in
    /// milliseconds as text, `replication`), each absent when not sent.
    pub options: Option<String>,
    #[serde(rename = "statement_timeout")]
    pub statement_timeout: Option<String>,
    #[serde(rename = "lock_timeout")]
    pub lock_timeout: Option<String>,
    #[serde(rename = "idle_in_transaction_session_timeout")]
    pub idle_in_transaction_session_timeout: Option<String>,
    pub replication: Option<String>,
    pub keep_alive: bool,
    pub keep_alive_initial_delay_millis: f64,
    /// The bound on opening one connection (`connectionTimeoutMillis`, else
    /// `PGCONNECT_TIMEOUT`); 0: none.
    pub connect_timeout_millis: f64,
    pub max: usize,
    pub min: usize,
    /// 0: idle connections are never closed.
    pub idle_timeout_millis: f64,
    /// 0: acquires wait forever.
    pub connection_timeout_millis: f64,
    /// `null`: Infinity.
    pub max_uses: Option<u64>,
    /// 0: no lifetime limit.
    pub max_lifetime_seconds: f64,
    /// `null`: Infinity.
    pub max_waiting: Option<usize>,
    /// Tag → the most connections its checkouts may hold at once.
    pub tag_limits: std::collections::BTreeMap<String, usize>,
    /// 0: idle connections are not health-checked.
    pub health_check_interval_ms: f64,
    pub statement_cache_size: usize,
    pub max_message_size: usize,
    pub max_queued_events: usize,
    /// 0: no client-side query timeout.
    #[serde(rename = "query_timeout")]
    pub query_timeout: f64,
    /// pg's binary mode (`binary`, else `pg.defaults.binary`).
    pub binary: bool,
    /// The `pg.defaults` keys whose value a setting took, so that the JS layer echoes those
    /// (`client.ssl`, `connectionParameters.sslnegotiation`, …) as pg does.
    pub pg_defaults: Vec<String>,
    pub end_timeout_ms: f64,
    /// 0: checkouts are never reported by age (`leakThresholdMs` 0 or Infinity).
    pub leak_threshold_ms: f64,
    pub check_interval_ms: f64,
    pub max_leaks_before_alert: usize,
    /// 0: idle checkouts are never reclaimed.
    pub force_release_after_ms: f64,
    pub metrics_history_size: usize,
    pub metrics_interval_ms: f64,
}

fn ms(d: Duration) -> f64 {
    // Nanoseconds over 1e6: exact for whole milliseconds, where `as_secs_f64() * 1000` is not.
    d.as_nanos() as f64 / 1e6
}

fn ms_or_zero(d: Option<Duration>) -> f64 {
    d.map_or(0.0, ms)
}

impl PoolConfig {
    /// The view of this configuration the JS layer reads (see [`ResolvedOptions`]).
    pub fn resolved(&self) -> ResolvedOptions {
        let c = &self.connect;
        ResolvedOptions {
            host: match &c.host {
                Host::Tcp(h) => h.clone(),
                Host::Unix(dir) => dir.to_string_lossy().into_owned(),
            },
            port: c.port,
            user: c.user.clone(),
            database: c.database.clone(),
            application_name: c.application_name().map(str::to_string),
            ssl: matches!(c.ssl, SslConfig::Enabled(_)),
            ssl_reject_unauthorized: match &c.ssl {
                SslConfig::Enabled(tls) => tls.reject_unauthorized,
                SslConfig::Disabled => true,
            },
            sslnegotiation: match &c.ssl {
                SslConfig::Enabled(tls) => tls.negotiation.as_str(),
                SslConfig::Disabled => SslNegotiation::Postgres.as_str(),
            },
            scram_max_iterations: c.scram_max_iterations,
            require_auth: c.auth.require.text().map(str::to_string),
            channel_binding: c.auth.channel_binding.as_str(),
            options: c.startup_param("options"),
            statement_timeout: c.startup_param("statement_timeout"),
            lock_timeout: c.startup_param("lock_timeout"),
            idle_in_transaction_session_timeout: c
                .startup_param("idle_in_transaction_session_timeout"),
            replication: c.startup_param("replication"),
            keep_alive: c.keep_alive,
            keep_alive_initial_delay_millis: ms(c.keep_alive_initial_delay),
            connect_timeout_millis: ms_or_zero(c.connect_timeout),
            max: self.max,
            min: self.min,
            idle_timeout_millis: ms_or_zero(self.idle_timeout),
            connection_timeout_millis: ms_or_zero(self.connection_timeout),
            max_uses: self.max_uses,
            max_lifetime_seconds: self.max_lifetime.map_or(0.0, |d| d.as_secs_f64()),
            max_waiting: self.max_waiting,
            tag_limits: self.tag_limits.clone(),
            health_check_interval_ms: ms_or_zero(self.health_check_interval),
            statement_cache_size: self.statement_cache_size,
            max_message_size: self.max_message_size,
            max_queued_events: self.max_queued_events,
            query_timeout: ms_or_zero(self.query_timeout),
            binary: self.binary,
            pg_defaults: self.from_pg_defaults.iter().cloned().collect(),
            end_timeout_ms: ms(self.end_timeout),
            leak_threshold_ms: ms_or_zero(self.leak.threshold),
            check_interval_ms: ms(self.leak.check_interval),
            max_leaks_before_alert: self.leak.max_leaks_before_alert,
            force_release_after_ms: ms_or_zero(self.leak.force_release_after),
            metrics_history_size: self.metrics.history_size,
            metrics_interval_ms: ms(self.metrics.interval),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn view(opts: serde_json::Value, env: &[(&str, &str)]) -> ResolvedOptions {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        PoolConfig::from_options_with(&opts, &serde_json::Value::Null, &lookup, &|| None)
            .unwrap()
            .resolved()
    }

    #[test]
    fn defaults_are_applied() {
        let v = view(json!({}), &[("USER", "me")]);
        assert_eq!(
            v,
            ResolvedOptions {
                host: "localhost".into(),
                port: 5432,
                user: "me".into(),
                database: "me".into(),
                application_name: None,
                ssl: false,
                ssl_reject_unauthorized: true,
                sslnegotiation: "postgres",
                scram_max_iterations: 100_000.0,
                require_auth: None,
                channel_binding: "prefer",
                options: None,
                statement_timeout: None,
                lock_timeout: None,
                idle_in_transaction_session_timeout: None,
                replication: None,
                keep_alive: false,
                keep_alive_initial_delay_millis: 0.0,
                connect_timeout_millis: 0.0,
                max: 10,
                min: 0,
                idle_timeout_millis: 10000.0,
                connection_timeout_millis: 0.0,
                max_uses: None,
                max_lifetime_seconds: 0.0,
                max_waiting: None,
                tag_limits: Default::default(),
                health_check_interval_ms: 0.0,
                statement_cache_size: 100,
                max_message_size: 1 << 30,
                max_queued_events: 10_000,
                query_timeout: 0.0,
                binary: false,
                pg_defaults: vec![],
                end_timeout_ms: 10000.0,
                leak_threshold_ms: 30000.0,
                check_interval_ms: 1000.0,
                max_leaks_before_alert: 1,
                force_release_after_ms: 300000.0,
                metrics_history_size: 100,
                metrics_interval_ms: 10000.0,
            }
        );
    }

    #[test]
    fn the_connection_string_and_environment_are_merged() {
        let v = view(
            json!({
                "connectionString":
                    "postgres://cs_user:secret@cs-host:6543/cs_db?query_timeout=250&application_name=app",
                "poolSize": 4,
                "maxLifetimeSeconds": 1.5,
                "idleTimeoutMillis": 0.5,
            }),
            &[("PGHOST", "/run/pg"), ("PGPORT", "7000"), ("USER", "me")],
        );
        assert_eq!(
            (
                v.host.as_str(),
                v.port,
                v.user.as_str(),
                v.database.as_str()
            ),
            ("cs-host", 6543, "cs_user", "cs_db")
        );
        assert_eq!(v.application_name.as_deref(), Some("app"));
        assert_eq!(v.query_timeout, 250.0);
        assert_eq!((v.max, v.max_lifetime_seconds), (4, 1.5));
        assert_eq!(v.idle_timeout_millis, 0.5);
        let v = view(
            json!({"connectionString": "postgres://h/d?sslnegotiation=direct", "scramMaxIterations": "4096"}),
            &[],
        );
        assert_eq!(
            (v.ssl, v.sslnegotiation, v.scram_max_iterations),
            (true, "direct", 4096.0)
        );
        let v = view(json!({}), &[("PGHOST", "/run/pg"), ("PGUSER", "pu")]);
        assert_eq!((v.host.as_str(), v.user.as_str()), ("/run/pg", "pu"));
    }

    #[test]
    fn authentication_requirements_are_the_effective_ones() {
        let auth = |opts: serde_json::Value, env: &[(&str, &str)]| {
            let v = view(opts, env);
            (v.require_auth, v.channel_binding)
        };
        let any = (None, "prefer");
        assert_eq!(auth(json!({}), &[]), any);
        assert_eq!(
            auth(json!({"requireAuth": ["scram-sha-256", " none"]}), &[]),
            (Some("scram-sha-256,none".into()), "prefer")
        );
        assert_eq!(
            auth(json!({"channelBinding": "require"}), &[]),
            (None, "require")
        );
        assert_eq!(
            auth(json!({"enableChannelBinding": false}), &[]),
            (None, "disable")
        );
        // The environment, when nothing else says.
        let env = [
            ("PGREQUIREAUTH", "!password,!md5"),
            ("PGCHANNELBINDING", "disable"),
        ];
        assert_eq!(
            auth(json!({}), &env),
            (Some("!password,!md5".into()), "disable")
        );
        assert_eq!(
            auth(
                json!({"requireAuth": "md5", "channelBinding": "prefer"}),
                &env
            ),
            (Some("md5".into()), "prefer")
        );
        // The connection string wins over the options and the environment.
        assert_eq!(
            auth(
                json!({"connectionString": "postgres://h/d?require_auth=scram-sha-256&channel_binding=require",
                       "requireAuth": "md5", "channelBinding": "disable"}),
                &env
            ),
            (Some("scram-sha-256".into()), "require")
        );
        // An empty requirement is none.
        assert_eq!(auth(json!({"requireAuth": ""}), &[]), any);
        let json = serde_json::to_string(&view(json!({"requireAuth": "none"}), &[])).unwrap();
        assert!(
            json.contains("\"requireAuth\":\"none\"")
                && json.contains("\"channelBinding\":\"prefer\""),
            "{json}"
        );
    }

    #[test]
    fn startup_parameters_are_reported_as_sent() {
        let v = view(
            json!({
                "connectionString": "postgres://u@h/d?options=-c%20search_path%3Dx&lock_timeout=20",
                "statement_timeout": 1500,
                "keepAlive": true,
                "keepAliveInitialDelayMillis": 250,
                "connectionTimeoutMillis": 3000,
            }),
            &[("USER", "me")],
        );
        assert_eq!(v.options.as_deref(), Some("-c search_path=x"));
        assert_eq!(v.statement_timeout.as_deref(), Some("1500"));
        assert_eq!(v.lock_timeout.as_deref(), Some("20"));
        assert_eq!(v.idle_in_transaction_session_timeout, None);
        assert_eq!(v.replication, None);
        assert!(v.keep_alive);
        assert_eq!(v.keep_alive_initial_delay_millis, 250.0);
        assert_eq!(v.connect_timeout_millis, 3000.0);
        let v = view(json!({}), &[("USER", "me"), ("PGCONNECT_TIMEOUT", "2")]);
        assert_eq!(v.connect_timeout_millis, 2000.0);
    }

    #[test]
    fn disabled_settings_are_zero_and_unbounded_counts_null() {
        let v = view(
            json!({"leakThresholdMs": "Infinity", "forceReleaseAfterMs": 0,
                   "maxUses": "Infinity", "maxWaiting": 3, "idleTimeoutMillis": null}),
            &[("USER", "me")],
        );
        assert_eq!((v.leak_threshold_ms, v.force_release_after_ms), (0.0, 0.0));
        assert_eq!((v.max_uses, v.max_waiting), (None, Some(3)));
        assert_eq!(v.idle_timeout_millis, 0.0);
        let v = view(json!({"leakThresholdMs": 0}), &[("USER", "me")]);
        assert_eq!(v.leak_threshold_ms, 0.0);
    }

    #[test]
    fn the_json_never_holds_the_password() {
        let v = view(
            json!({"password": "hunter2", "connectionString": "postgres://u:pw2@h/d"}),
            &[("PGPASSWORD", "pw3"), ("USER", "me")],
        );
        let json = serde_json::to_string(&v).unwrap();
        for secret in ["hunter2", "pw2", "pw3", "password"] {
            assert!(!json.contains(secret), "{json}");
        }
        assert!(json.contains("\"query_timeout\":0"), "{json}");
        assert!(json.contains("\"leakThresholdMs\":30000"), "{json}");
    }
}
