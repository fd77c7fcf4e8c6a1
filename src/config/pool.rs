//! Pool settings: pg-pool's semantics (`max || poolSize || 10`, `idleTimeoutMillis` default
//! 10000, `maxUses || Infinity`, ...), read from the options only.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use super::error::{ConfigError, ConfigErrorKind, Origin};
use super::value::{self, show};
use super::{connect, LeakConfig, MetricsConfig, PoolConfig};

impl PoolConfig {
    pub(super) fn build(
        map: &Map<String, Value>,
        resolved: connect::Resolved,
    ) -> Result<PoolConfig, ConfigError> {
        let o = Opts(map);
        let max = match o.pool_size("max")? {
            Some(n) => n,
            None => o.pool_size("poolSize")?.unwrap_or(10),
        };
        let min = match o.given("min") {
            Some(v) => value::size(v, Origin::Opt("min"), 0, "a non-negative integer")?,
            None => 0,
        };
        if min > max {
            return Err(ConfigError::range_err(
                Origin::Opt("min"),
                &format!("an integer no greater than max ({max})"),
                &show(&map["min"]),
            ));
        }
        let idle_timeout = match map.get("idleTimeoutMillis") {
            None => Some(Duration::from_millis(10_000)),
            Some(Value::Null) => None,
            Some(_) => o.ms("idleTimeoutMillis", 0, false)?,
        };
        let max_uses = match o.given("maxUses") {
            None => None,
            Some(Value::String(s)) if s == "Infinity" => None,
            Some(v) => Some(value::integer(
                v,
                Origin::Opt("maxUses"),
                1,
                "a positive integer or Infinity",
            )?),
        };
        let max_lifetime = match o.given("maxLifetimeSeconds") {
            None => None,
            Some(v) => {
                let origin = Origin::Opt("maxLifetimeSeconds");
                let expected = "a non-negative number of seconds";
                let secs = value::non_negative(v, origin, expected)?;
                Some(value::from_secs(secs, origin, v, expected)?)
            }
        };
        let max_waiting = match o.get("maxWaiting") {
            None => None,
            Some(Value::String(s)) if s == "Infinity" => None,
            Some(v) => Some(value::size(
                v,
                Origin::Opt("maxWaiting"),
                0,
                "a non-negative integer or Infinity",
            )?),
        };
        let tag_limits = tag_limits(o.get("tagLimits"))?;
        let leak = LeakConfig {
            threshold: o.ms("leakThresholdMs", 30_000, true)?,
            check_interval: o.positive_ms("checkIntervalMs", 1_000)?,
            max_leaks_before_alert: o.count("maxLeaksBeforeAlert", 1, 1)?,
            force_release_after: o.ms("forceReleaseAfterMs", 300_000, true)?,
        };
        let metrics = MetricsConfig {
            history_size: o.count("metricsHistorySize", 100, 0)?,
            interval: o.positive_ms("metricsIntervalMs", 10_000)?,
        };
        Ok(PoolConfig {
            connect: resolved.connect,
            max,
            min,
            idle_timeout,
            connection_timeout: resolved.connection_timeout,
            max_uses,
            max_lifetime,
            max_waiting,
            tag_limits,
            health_check_interval: o.ms("healthCheckIntervalMs", 0, true)?,
            statement_cache_size: o.count("statementCacheSize", 100, 0)?,
            max_message_size: o.count(
                "maxMessageSize",
                crate::pg::frames::MessageLimits::DEFAULT_MAX,
                1,
            )?,
            max_queued_events: o.count("maxQueuedEvents", 10_000, 1)?,
            query_timeout: resolved.query_timeout,
            binary: resolved.binary,
            from_pg_defaults: resolved.from_pg_defaults,
            end_timeout: o
                .ms("endTimeoutMs", 10_000, false)?
                .unwrap_or(Duration::ZERO),
            leak,
            metrics,
        })
    }
}

/// `tagLimits`: an object of tag → positive integer (`tagLimits.<tag>` names a bad one).
fn tag_limits(v: Option<&Value>) -> Result<BTreeMap<String, usize>, ConfigError> {
    let Some(v) = v else {
        return Ok(BTreeMap::new());
    };
    let Value::Object(map) = v else {
        return Err(ConfigError::type_err(
            Origin::Opt("tagLimits"),
            "an object of tag: positive integer",
            &show(v),
        ));
    };
    map.iter()
        .map(|(tag, n)| {
            let key = format!("tagLimits.{tag}");
            let limit = value::size(n, Origin::Opt(&key), 1, "a positive integer")?;
            Ok((tag.clone(), limit))
        })
        .collect()
}

/// Typed reads of pool-level options (never from the connection string or env).
struct Opts<'a>(&'a Map<String, Value>);

impl Opts<'_> {
    /// The value, treating `null` as absent.
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// The value unless absent, `null` or the number 0: pg's `option || default` for
    /// numbers. Other falsy values (`false`, `""`) are kept, to be rejected.
    fn given(&self, key: &str) -> Option<&Value> {
        self.get(key).filter(|v| v.as_f64() != Some(0.0))
    }

    /// `max`/`poolSize`: 0/null/absent mean "not given" (pg's `||`), else a positive integer.
    fn pool_size(&self, key: &str) -> Result<Option<usize>, ConfigError> {
        self.given(key)
            .map(|v| value::size(v, Origin::Opt(key), 1, "a positive integer"))
            .transpose()
    }

    /// An integer `>= min`, `default` when absent or null.
    fn count(&self, key: &str, default: usize, min: usize) -> Result<usize, ConfigError> {
        let expected = if min == 0 {
            "a non-negative integer"
        } else {
            "a positive integer"
        };
        match self.get(key) {
            None => Ok(default),
            Some(v) => value::size(v, Origin::Opt(key), min, expected),
        }
    }

    /// Milliseconds (default `default_ms` when absent or null); 0 means `None`, and so
    /// does `Infinity` if `infinity_disables`.
    fn ms(
        &self,
        key: &str,
        default_ms: u64,
        infinity_disables: bool,
    ) -> Result<Option<Duration>, ConfigError> {
        let Some(v) = self.get(key) else {
            return Ok(Some(Duration::from_millis(default_ms)).filter(|d| !d.is_zero()));
        };
        if infinity_disables && matches!(v, Value::String(s) if s == "Infinity") {
            return Ok(None);
        }
        let expected = if infinity_disables {
            "a non-negative number of milliseconds or Infinity"
        } else {
            "a non-negative number of milliseconds"
        };
        let ms = value::non_negative(v, Origin::Opt(key), expected)?;
        if ms == 0.0 {
            return Ok(None);
        }
        value::millis(ms, Origin::Opt(key), v).map(Some)
    }

    /// Milliseconds that must be positive (default when absent or null).
    fn positive_ms(&self, key: &str, default_ms: u64) -> Result<Duration, ConfigError> {
        let expected = "a positive number of milliseconds";
        match self.ms(key, default_ms, false) {
            Ok(Some(d)) => Ok(d),
            Ok(None) => Err(ConfigError::range_err(
                Origin::Opt(key),
                expected,
                &show(&self.0[key]),
            )),
            Err(e) if e.kind == ConfigErrorKind::Range => Err(ConfigError::range_err(
                Origin::Opt(key),
                expected,
                &show(&self.0[key]),
            )),
            Err(e) => Err(e),
        }
    }
}
