//! What the client accepts of the server's authentication, modelled on libpq:
//! `require_auth` (`requireAuth`, `PGREQUIREAUTH`) lists the methods the server may use, and
//! `channel_binding` (`channelBinding`, pg's `enableChannelBinding`, `PGCHANNELBINDING`) says
//! whether SCRAM must be bound to the TLS channel. Without them, every method pg answers is
//! answered, and SCRAM-SHA-256-PLUS is used over TLS when the server offers it.

use serde_json::Value;

use super::error::{ConfigError, ConfigErrorKind, Origin};
use super::value::show;

/// A way the server may authenticate the client, as `require_auth` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// No challenge at all (`trust`, or `peer` over a unix socket): `none`.
    None,
    /// A cleartext password: `password`.
    Password,
    /// An MD5-hashed password: `md5`.
    Md5,
    /// GSSAPI (not supported by this client): `gss`.
    Gss,
    /// SSPI (not supported by this client): `sspi`.
    Sspi,
    /// SCRAM-SHA-256, with or without channel binding: `scram-sha-256`.
    Scram,
}

impl AuthKind {
    const ALL: [AuthKind; 6] = [
        AuthKind::None,
        AuthKind::Password,
        AuthKind::Md5,
        AuthKind::Gss,
        AuthKind::Sspi,
        AuthKind::Scram,
    ];

    /// The keyword libpq's `require_auth` uses for this method.
    pub fn keyword(self) -> &'static str {
        match self {
            AuthKind::None => "none",
            AuthKind::Password => "password",
            AuthKind::Md5 => "md5",
            AuthKind::Gss => "gss",
            AuthKind::Sspi => "sspi",
            AuthKind::Scram => "scram-sha-256",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The methods the server may use (libpq's `require_auth`).
///
/// Invariant: `text` is `None` exactly when every method is allowed (no requirement given);
/// otherwise it is the requirement as given (normalised to a comma-separated list), for
/// messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequireAuth {
    allowed: u8,
    text: Option<String>,
}

impl Default for RequireAuth {
    /// No requirement: every method is allowed (pg's behaviour).
    fn default() -> Self {
        RequireAuth {
            allowed: u8::MAX,
            text: None,
        }
    }
}

impl RequireAuth {
    /// Whether the server may authenticate the client with `kind`.
    pub fn allows(&self, kind: AuthKind) -> bool {
        self.allowed & kind.bit() != 0
    }

    /// The requirement as given (`None`: no requirement).
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// Parses a comma-separated list of methods (`scram-sha-256,none`), all plain or all
    /// negated (`!password,!md5`), as libpq does: an unknown method, a repeated one, or a
    /// mix of plain and negated ones is an error. An empty list is no requirement.
    fn parse(list: &[String], origin: Origin<'_>) -> Result<RequireAuth, ConfigError> {
        let items: Vec<&str> = list
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .collect();
        if items.iter().all(|s| s.is_empty()) {
            return Ok(RequireAuth::default());
        }
        let bad = |why: &str| ConfigError::other(ConfigErrorKind::Range, origin, why);
        let negated = items[0].starts_with('!');
        let mut named = 0u8;
        for item in &items {
            let (neg, word) = match item.strip_prefix('!') {
                Some(w) => (true, w),
                None => (false, *item),
            };
            if neg != negated {
                return Err(bad(&format!(
                    "negated and plain methods cannot be mixed (\"{item}\"); list methods to allow, or methods to forbid with \"!\""
                )));
            }
            let Some(kind) = AuthKind::ALL.iter().find(|k| k.keyword() == word) else {
                return Err(bad(&format!(
                    "unknown authentication method \"{word}\"; expected password, md5, gss, sspi, scram-sha-256 or none, each optionally negated with \"!\""
                )));
            };
            if named & kind.bit() != 0 {
                return Err(bad(&format!(
                    "authentication method \"{word}\" is listed more than once"
                )));
            }
            named |= kind.bit();
        }
        Ok(RequireAuth {
            allowed: if negated { !named } else { named },
            text: Some(items.join(",")),
        })
    }
}

/// Whether SCRAM is bound to the TLS channel (libpq's `channel_binding`).
///
/// `Prefer` (the default) uses SCRAM-SHA-256-PLUS with `tls-server-end-point` when the
/// connection uses TLS and the server offers it; `Require` refuses any authentication that is
/// not SCRAM-SHA-256-PLUS; `Disable` never binds (pg's behaviour without
/// `enableChannelBinding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChannelBinding {
    Disable,
    #[default]
    Prefer,
    Require,
}

impl ChannelBinding {
    /// The option's value as libpq spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelBinding::Disable => "disable",
            ChannelBinding::Prefer => "prefer",
            ChannelBinding::Require => "require",
        }
    }

    fn parse(s: &str, origin: Origin<'_>) -> Result<ChannelBinding, ConfigError> {
        match s {
            "disable" => Ok(ChannelBinding::Disable),
            "prefer" => Ok(ChannelBinding::Prefer),
            "require" => Ok(ChannelBinding::Require),
            other => Err(ConfigError::range_err(
                origin,
                "\"disable\", \"prefer\" or \"require\"",
                &show(&Value::String(other.to_string())),
            )),
        }
    }
}

/// What the client accepts of the server's authentication.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthPolicy {
    /// The methods the server may use.
    pub require: RequireAuth,
    /// Whether SCRAM must be, may be, or is never bound to the TLS channel.
    pub channel_binding: ChannelBinding,
}

/// A string, or for `requireAuth` an array of strings, from an option or the connection string.
fn strings(v: &Value, origin: Origin<'_>, allow_array: bool) -> Result<Vec<String>, ConfigError> {
    let expected = if allow_array {
        "a string or an array of strings"
    } else {
        "a string"
    };
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if allow_array => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                _ => Err(ConfigError::type_err(origin, expected, &show(v))),
            })
            .collect(),
        _ => Err(ConfigError::type_err(origin, expected, &show(v))),
    }
}

/// Resolves the policy: the connection string's `require_auth`/`channel_binding` first (its
/// keys win, as everywhere in pg), then the options `requireAuth`/`channelBinding` (and pg's
/// `enableChannelBinding`: `false` disables binding, `true` is the default, `prefer`), then
/// `PGREQUIREAUTH`/`PGCHANNELBINDING`. `get(key)` reads the merged options.
pub(crate) fn resolve(
    get: &dyn Fn(&'static str) -> Option<(Value, Origin<'static>)>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AuthPolicy, ConfigError> {
    // Absent, `null` and `""` all mean "not given".
    let given = |keys: [&'static str; 2]| {
        keys.into_iter()
            .filter_map(get)
            .find(|(v, _)| !v.is_null() && v.as_str() != Some(""))
    };
    let require = match given(["require_auth", "requireAuth"]) {
        Some((v, origin)) => RequireAuth::parse(&strings(&v, origin, true)?, origin)?,
        None => match env("PGREQUIREAUTH") {
            Some(s) => RequireAuth::parse(&[s], Origin::Env("PGREQUIREAUTH"))?,
            None => RequireAuth::default(),
        },
    };
    let channel_binding = match given(["channel_binding", "channelBinding"]) {
        Some((v, origin)) => ChannelBinding::parse(&strings(&v, origin, false)?[0], origin)?,
        None => match get("enableChannelBinding").filter(|(v, _)| !v.is_null()) {
            Some((Value::Bool(true), _)) => ChannelBinding::Prefer,
            Some((Value::Bool(false), _)) => ChannelBinding::Disable,
            Some((v, origin)) => return Err(ConfigError::type_err(origin, "a boolean", &show(&v))),
            None => match env("PGCHANNELBINDING").filter(|s| !s.is_empty()) {
                Some(s) => ChannelBinding::parse(&s, Origin::Env("PGCHANNELBINDING"))?,
                None => ChannelBinding::Prefer,
            },
        },
    };
    if channel_binding == ChannelBinding::Require && !require.allows(AuthKind::Scram) {
        let origin = given(["channel_binding", "channelBinding"])
            .map(|(_, o)| o)
            .unwrap_or(Origin::Env("PGCHANNELBINDING"));
        return Err(ConfigError::other(
            ConfigErrorKind::Range,
            origin,
            &format!(
                "channel binding is required, but the authentication requirement \"{}\" forbids SCRAM, the only method that binds",
                require.text().unwrap_or_default()
            ),
        ));
    }
    Ok(AuthPolicy {
        require,
        channel_binding,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map};

    fn policy(opts: Value, env: &[(&str, &str)]) -> Result<AuthPolicy, ConfigError> {
        let m: Map<String, Value> = opts.as_object().cloned().unwrap_or_default();
        let get = |k: &'static str| m.get(k).map(|v| (v.clone(), Origin::Opt(k)));
        let env = |k: &str| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        };
        resolve(&get, &env)
    }

    #[test]
    fn no_requirement_allows_everything_and_prefers_binding() {
        let p = policy(json!({}), &[]).unwrap();
        assert_eq!(p, AuthPolicy::default());
        for k in AuthKind::ALL {
            assert!(p.require.allows(k), "{k:?}");
        }
        assert_eq!(p.channel_binding, ChannelBinding::Prefer);
        assert_eq!(
            policy(json!({"requireAuth": ""}), &[]).unwrap(),
            AuthPolicy::default()
        );
    }

    #[test]
    fn lists_allow_only_what_they_name_and_negations_forbid_it() {
        let p = policy(json!({"requireAuth": "scram-sha-256,none"}), &[]).unwrap();
        assert!(p.require.allows(AuthKind::Scram) && p.require.allows(AuthKind::None));
        assert!(!p.require.allows(AuthKind::Md5) && !p.require.allows(AuthKind::Password));
        assert_eq!(p.require.text(), Some("scram-sha-256,none"));
        let p = policy(json!({"requireAuth": ["md5", "scram-sha-256"]}), &[]).unwrap();
        assert!(p.require.allows(AuthKind::Md5) && !p.require.allows(AuthKind::None));
        let p = policy(json!({"requireAuth": "!password, !md5"}), &[]).unwrap();
        assert!(!p.require.allows(AuthKind::Password) && !p.require.allows(AuthKind::Md5));
        assert!(p.require.allows(AuthKind::Scram) && p.require.allows(AuthKind::None));
        let p = policy(json!({}), &[("PGREQUIREAUTH", "scram-sha-256")]).unwrap();
        assert!(!p.require.allows(AuthKind::None));
    }

    #[test]
    fn bad_requirements_are_errors_naming_the_option() {
        for (v, needle) in [
            (json!("scram"), "unknown authentication method \"scram\""),
            (json!("md5,!password"), "cannot be mixed"),
            (json!("md5,md5"), "more than once"),
            (json!(5), "received 5"),
            (json!(["md5", 1]), "received an array"),
        ] {
            let e = policy(json!({ "requireAuth": v }), &[]).unwrap_err();
            assert_eq!(e.option, "requireAuth");
            assert!(e.message.contains(needle), "{}", e.message);
        }
        let e = policy(json!({}), &[("PGREQUIREAUTH", "kerberos")]).unwrap_err();
        assert_eq!(e.option, "PGREQUIREAUTH");
    }

    #[test]
    fn channel_binding_values_and_pgs_enable_channel_binding() {
        let cb = |opts: Value| policy(opts, &[]).map(|p| p.channel_binding);
        assert_eq!(
            cb(json!({"channelBinding": "require"})).unwrap(),
            ChannelBinding::Require
        );
        assert_eq!(
            cb(json!({"channelBinding": "disable"})).unwrap(),
            ChannelBinding::Disable
        );
        assert_eq!(
            cb(json!({"enableChannelBinding": false})).unwrap(),
            ChannelBinding::Disable
        );
        assert_eq!(
            cb(json!({"enableChannelBinding": true})).unwrap(),
            ChannelBinding::Prefer
        );
        // channelBinding wins over pg's boolean.
        assert_eq!(
            cb(json!({"enableChannelBinding": false, "channelBinding": "require"})).unwrap(),
            ChannelBinding::Require
        );
        let e = cb(json!({"channelBinding": "always"})).unwrap_err();
        assert_eq!(
            (e.kind, e.option.as_str()),
            (ConfigErrorKind::Range, "channelBinding")
        );
        let e = cb(json!({"enableChannelBinding": "yes"})).unwrap_err();
        assert_eq!(
            (e.kind, e.option.as_str()),
            (ConfigErrorKind::Type, "enableChannelBinding")
        );
        let p = policy(json!({}), &[("PGCHANNELBINDING", "require")]).unwrap();
        assert_eq!(p.channel_binding, ChannelBinding::Require);
        // Binding needs SCRAM.
        let e = policy(
            json!({"channelBinding": "require", "requireAuth": "md5"}),
            &[],
        )
        .unwrap_err();
        assert!(e.message.contains("forbids SCRAM"), "{}", e.message);
    }
}
