//! The configuration error type and the helpers that build its messages.

use std::fmt;

/// Which JavaScript error class a [`ConfigError`] maps to.
///
/// Invariant: `Type` means the value had the wrong JavaScript type (a `TypeError`);
/// `Range` means the type was right but the value is not acceptable (a `RangeError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// Wrong type (JS `TypeError`).
    Type,
    /// Right type, unacceptable value (JS `RangeError`).
    Range,
}

/// An invalid option, environment variable, connection-string parameter or `pg.defaults` value.
///
/// Invariants: `option` names the offending option (`"max"`, `"ssl.ca"`), environment
/// variable (`"PGPORT"`), `"connectionString"` or key of pg's global defaults
/// (`"pg.defaults.port"`); `message` names it too, together with the value received, e.g.
/// `Invalid option "max": expected a positive integer, received -1`.
/// Neither field ever contains a password, a private key or a connection string (those
/// are described by their type only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// `Type` (TypeError) or `Range` (RangeError).
    pub kind: ConfigErrorKind,
    /// The option, environment variable, `"connectionString"` or `"pg.defaults.<key>"` at fault.
    pub option: String,
    /// A complete, human-readable message.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Where a value came from; decides how an error names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin<'a> {
    /// A key of the options object (dotted for nested keys: `ssl.ca`).
    Opt(&'a str),
    /// An environment variable.
    Env(&'a str),
    /// A parameter that came out of `connectionString`.
    ConnString(&'a str),
    /// A key of pg's global defaults (`pg.defaults`, dotted for nested keys: `ssl.ca`).
    PgDefault(&'a str),
}

impl ConfigError {
    /// An error for `origin`: "expected `expected`, received `received`".
    pub(crate) fn invalid(
        kind: ConfigErrorKind,
        origin: Origin<'_>,
        expected: &str,
        received: &str,
    ) -> ConfigError {
        let (option, message) = match origin {
            Origin::Opt(name) => (
                name.to_string(),
                format!("Invalid option \"{name}\": expected {expected}, received {received}"),
            ),
            Origin::Env(name) => (
                name.to_string(),
                format!(
                    "Invalid environment variable {name}: expected {expected}, received {received}"
                ),
            ),
            Origin::ConnString(param) => (
                "connectionString".to_string(),
                format!(
                    "Invalid option \"connectionString\": parameter \"{param}\" expected {expected}, received {received}"
                ),
            ),
            Origin::PgDefault(key) => (
                format!("pg.defaults.{key}"),
                format!("Invalid pg.defaults.{key}: expected {expected}, received {received}"),
            ),
        };
        ConfigError {
            kind,
            option,
            message,
        }
    }

    /// A `TypeError`-kind error.
    pub(crate) fn type_err(origin: Origin<'_>, expected: &str, received: &str) -> ConfigError {
        ConfigError::invalid(ConfigErrorKind::Type, origin, expected, received)
    }

    /// A `RangeError`-kind error.
    pub(crate) fn range_err(origin: Origin<'_>, expected: &str, received: &str) -> ConfigError {
        ConfigError::invalid(ConfigErrorKind::Range, origin, expected, received)
    }

    /// An error about the connection string as a whole; `detail` must not contain it.
    pub(crate) fn conn_string(kind: ConfigErrorKind, detail: &str) -> ConfigError {
        ConfigError {
            kind,
            option: "connectionString".to_string(),
            message: format!("Invalid option \"connectionString\": {detail}"),
        }
    }

    /// An error with a free-form `detail`, prefixed the way `origin` is named.
    pub(crate) fn other(kind: ConfigErrorKind, origin: Origin<'_>, detail: &str) -> ConfigError {
        let (option, message) = match origin {
            Origin::Opt(name) => (
                name.to_string(),
                format!("Invalid option \"{name}\": {detail}"),
            ),
            Origin::Env(name) => (
                name.to_string(),
                format!("Invalid environment variable {name}: {detail}"),
            ),
            Origin::ConnString(param) => (
                "connectionString".to_string(),
                format!("Invalid option \"connectionString\": parameter \"{param}\": {detail}"),
            ),
            Origin::PgDefault(key) => (
                format!("pg.defaults.{key}"),
                format!("Invalid pg.defaults.{key}: {detail}"),
            ),
        };
        ConfigError {
            kind,
            option,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_source() {
        let e = ConfigError::range_err(Origin::Opt("max"), "a positive integer", "-1");
        assert_eq!(e.kind, ConfigErrorKind::Range);
        assert_eq!(e.option, "max");
        assert_eq!(
            e.to_string(),
            "Invalid option \"max\": expected a positive integer, received -1"
        );
        let e = ConfigError::type_err(Origin::Env("PGPORT"), "a port", "\"x\"");
        assert_eq!(e.option, "PGPORT");
        assert!(e
            .message
            .starts_with("Invalid environment variable PGPORT:"));
        let e = ConfigError::range_err(Origin::ConnString("port"), "a port", "\"x\"");
        assert_eq!(e.option, "connectionString");
        assert!(e.message.contains("parameter \"port\""));
        let e = ConfigError::other(ConfigErrorKind::Type, Origin::Opt("ssl"), "boom");
        assert_eq!(e.message, "Invalid option \"ssl\": boom");
        let e = ConfigError::range_err(Origin::PgDefault("port"), "a port", "\"x\"");
        assert_eq!(e.option, "pg.defaults.port");
        assert_eq!(
            e.message,
            "Invalid pg.defaults.port: expected a port, received \"x\""
        );
        let e = ConfigError::other(ConfigErrorKind::Range, Origin::PgDefault("ssl.ca"), "boom");
        assert_eq!(
            (e.option.as_str(), e.message.as_str()),
            ("pg.defaults.ssl.ca", "Invalid pg.defaults.ssl.ca: boom")
        );
        let e = ConfigError::conn_string(ConfigErrorKind::Range, "not a URL");
        assert_eq!(e.message, "Invalid option \"connectionString\": not a URL");
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert!(boxed.to_string().contains("not a URL"));
    }
}
