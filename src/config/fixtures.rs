//! Helpers for the tests of `PoolConfig::from_options` (in `tests.rs` and next to each
//! submodule): a configuration from options and an environment given as pairs.

use std::collections::HashMap;

use serde_json::Value;

use super::{ConfigError, PoolConfig};

pub(super) fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k: &str| map.get(k).cloned()
}

/// The account name tests run under, when no variable names a user.
pub(super) fn no_account() -> Option<String> {
    None
}

pub(super) fn cfg(opts: Value, env: &[(&str, &str)]) -> PoolConfig {
    cfg_under(opts, Value::Null, env)
}

pub(super) fn err(opts: Value, env: &[(&str, &str)]) -> ConfigError {
    err_under(opts, Value::Null, env)
}

/// A configuration from options over `pg_defaults` (pg's global defaults, as the JS layer sends
/// them) and an environment.
pub(super) fn cfg_under(opts: Value, pg_defaults: Value, env: &[(&str, &str)]) -> PoolConfig {
    PoolConfig::from_options_with(&opts, &pg_defaults, &env_of(env), &no_account).unwrap()
}

pub(super) fn err_under(opts: Value, pg_defaults: Value, env: &[(&str, &str)]) -> ConfigError {
    PoolConfig::from_options_with(&opts, &pg_defaults, &env_of(env), &no_account).unwrap_err()
}

pub(super) fn params(c: &PoolConfig) -> Vec<(&str, &str)> {
    c.connect
        .startup_params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

pub(super) const USER: &[(&str, &str)] = &[("USER", "me")];
