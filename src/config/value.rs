//! Reading option values that were JavaScript values before they became JSON.
//!
//! JSON cannot carry `Infinity`, `-Infinity` or `NaN`, so the JS layer sends them as
//! the strings `"Infinity"`, `"-Infinity"` and `"NaN"`; a function arrives as
//! `{"$function": true}`. Numeric strings (`"10"`, as read from `process.env`) are
//! accepted wherever a number is, since pg's arithmetic coerces them the same way.

use std::time::Duration;

use serde_json::Value;

use super::error::{ConfigError, Origin};

/// Longest string echoed back in an error message.
const MAX_SHOWN: usize = 80;

/// JavaScript truthiness of a received value. (`"NaN"` counts as a string here;
/// numeric readers reject it before asking.)
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// Whether `v` is the marker the JS layer sends for a function.
pub(crate) fn is_function(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.get("$function").is_some_and(truthy))
}

/// Renders a received value for an error message, the way JavaScript would print it.
pub(crate) fn show(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) => show_f64(f),
            None => n.to_string(),
        },
        Value::String(s) if matches!(s.as_str(), "Infinity" | "-Infinity" | "NaN") => s.clone(),
        Value::String(s) => {
            let mut t: String = s.chars().take(MAX_SHOWN).collect();
            if t.len() < s.len() {
                t.push('…');
            }
            Value::String(t).to_string()
        }
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) if is_function(v) => "a function".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}

/// Renders only the type of a value (for secrets).
pub(crate) fn show_type(v: &Value) -> String {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) if is_function(v) => "a function",
        Value::Object(_) => "an object",
    }
    .to_string()
}

/// Prints a number like JavaScript's `String(n)` does for ordinary values.
pub(crate) fn show_f64(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
    } else if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{f:.0}")
    } else {
        format!("{f}")
    }
}

/// Parses a string the way `Number(s)` would, for the decimal forms people write.
/// Returns `None` for anything that is not a number (including the empty string).
pub(crate) fn parse_number_str(s: &str) -> Option<f64> {
    let t = s.trim();
    match t {
        "Infinity" | "+Infinity" => return Some(f64::INFINITY),
        "-Infinity" => return Some(f64::NEG_INFINITY),
        "NaN" => return Some(f64::NAN),
        _ => {}
    }
    let b = t.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    t.parse::<f64>().ok()
}

/// The number a value stands for: a JSON number, or a numeric string.
pub(crate) fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_number_str(s),
        _ => None,
    }
}

/// A number, or a `Type` error saying `expected`.
pub(crate) fn number(v: &Value, origin: Origin<'_>, expected: &str) -> Result<f64, ConfigError> {
    as_number(v).ok_or_else(|| ConfigError::type_err(origin, expected, &show(v)))
}

/// An integer `>= min`, or an error saying `expected`. `Infinity`, `NaN` and fractions
/// are `Range` errors; non-numbers are `Type` errors.
pub(crate) fn integer(
    v: &Value,
    origin: Origin<'_>,
    min: u64,
    expected: &str,
) -> Result<u64, ConfigError> {
    let f = number(v, origin, expected)?;
    if !f.is_finite() || f.fract() != 0.0 || f < min as f64 || f > 9_007_199_254_740_991.0 {
        return Err(ConfigError::range_err(origin, expected, &show(v)));
    }
    Ok(f as u64)
}

/// [`integer`] narrowed to `usize`.
pub(crate) fn size(
    v: &Value,
    origin: Origin<'_>,
    min: usize,
    expected: &str,
) -> Result<usize, ConfigError> {
    let n = integer(v, origin, min as u64, expected)?;
    usize::try_from(n).map_err(|_| ConfigError::range_err(origin, expected, &show(v)))
}

/// A finite, non-negative number (fractions allowed), or an error saying `expected`.
pub(crate) fn non_negative(
    v: &Value,
    origin: Origin<'_>,
    expected: &str,
) -> Result<f64, ConfigError> {
    let f = number(v, origin, expected)?;
    if !f.is_finite() || f < 0.0 {
        return Err(ConfigError::range_err(origin, expected, &show(v)));
    }
    Ok(f)
}

/// `ms` milliseconds as a `Duration` (`ms` finite and non-negative), or a `Range` error
/// if it does not fit.
pub(crate) fn millis(ms: f64, origin: Origin<'_>, v: &Value) -> Result<Duration, ConfigError> {
    from_secs(ms / 1000.0, origin, v, "a number of milliseconds")
}

/// `secs` seconds as a `Duration` (`secs` finite and non-negative).
pub(crate) fn from_secs(
    secs: f64,
    origin: Origin<'_>,
    v: &Value,
    expected: &str,
) -> Result<Duration, ConfigError> {
    let ms = secs * 1000.0;
    if ms.fract() == 0.0 && ms >= 0.0 && ms < u64::MAX as f64 {
        return Ok(Duration::from_millis(ms as u64));
    }
    let d = Duration::try_from_secs_f64(secs)
        .map_err(|_| ConfigError::range_err(origin, expected, &show(v)))?;
    // A positive value never rounds down to "disabled".
    Ok(if d.is_zero() && secs > 0.0 {
        Duration::from_nanos(1)
    } else {
        d
    })
}

/// A boolean, or a `Type` error.
pub(crate) fn boolean(v: &Value, origin: Origin<'_>) -> Result<bool, ConfigError> {
    match v {
        Value::Bool(b) => Ok(*b),
        _ => Err(ConfigError::type_err(origin, "a boolean", &show(v))),
    }
}

/// A string, or a `Type` error.
pub(crate) fn string<'v>(v: &'v Value, origin: Origin<'_>) -> Result<&'v str, ConfigError> {
    match v {
        Value::String(s) => Ok(s),
        _ => Err(ConfigError::type_err(origin, "a string", &show(v))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::error::ConfigErrorKind;
    use serde_json::json;

    #[test]
    fn truthiness_follows_javascript() {
        for v in [json!(null), json!(false), json!(0), json!(0.0), json!("")] {
            assert!(!truthy(&v), "{v}");
        }
        for v in [
            json!(true),
            json!(1),
            json!("0"),
            json!("x"),
            json!([]),
            json!({}),
        ] {
            assert!(truthy(&v), "{v}");
        }
    }

    #[test]
    fn numbers_parse_like_number() {
        assert_eq!(parse_number_str("10"), Some(10.0));
        assert_eq!(parse_number_str(" 1.5 "), Some(1.5));
        assert_eq!(parse_number_str("-2"), Some(-2.0));
        assert_eq!(parse_number_str("1e3"), Some(1000.0));
        assert_eq!(parse_number_str(".5"), Some(0.5));
        assert_eq!(parse_number_str("5."), Some(5.0));
        assert_eq!(parse_number_str("Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_number_str("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_number_str("NaN").unwrap().is_nan());
        for bad in [
            "", " ", "inf", "nan", "1e", "abc", "10ms", "+", ".", "0x10", "1 2",
        ] {
            assert_eq!(parse_number_str(bad), None, "{bad}");
        }
    }

    #[test]
    fn shows_values_like_javascript() {
        assert_eq!(show(&json!(-1)), "-1");
        assert_eq!(show(&json!(-1.0)), "-1");
        assert_eq!(show(&json!(1.5)), "1.5");
        assert_eq!(show(&json!("NaN")), "NaN");
        assert_eq!(show(&json!("Infinity")), "Infinity");
        assert_eq!(show(&json!("abc")), "\"abc\"");
        assert_eq!(show(&json!(null)), "null");
        assert_eq!(show(&json!(true)), "true");
        assert_eq!(show(&json!([1])), "an array");
        assert_eq!(show(&json!({"a": 1})), "an object");
        assert_eq!(show(&json!({"$function": true})), "a function");
        let long = "x".repeat(200);
        assert!(show(&json!(long)).chars().count() < 90);
        assert_eq!(show_type(&json!("secret")), "a string");
        assert_eq!(show_type(&json!(5)), "a number");
        assert_eq!(show_f64(1e21), "1000000000000000000000");
    }

    #[test]
    fn integer_rules() {
        let o = Origin::Opt("max");
        assert_eq!(integer(&json!(5), o, 1, "x").unwrap(), 5);
        assert_eq!(integer(&json!("5"), o, 1, "x").unwrap(), 5);
        assert_eq!(integer(&json!(5.0), o, 1, "x").unwrap(), 5);
        for bad in [
            json!(0),
            json!(-1),
            json!(1.5),
            json!("NaN"),
            json!("Infinity"),
        ] {
            let e = integer(&bad, o, 1, "x").unwrap_err();
            assert_eq!(e.kind, ConfigErrorKind::Range, "{bad}");
        }
        for bad in [json!(true), json!("ten"), json!([]), json!({}), json!(null)] {
            let e = integer(&bad, o, 1, "x").unwrap_err();
            assert_eq!(e.kind, ConfigErrorKind::Type, "{bad}");
        }
    }

    #[test]
    fn durations() {
        let o = Origin::Opt("t");
        let v = json!(0);
        assert_eq!(millis(1500.0, o, &v).unwrap(), Duration::from_millis(1500));
        assert_eq!(millis(0.5, o, &v).unwrap(), Duration::from_micros(500));
        assert_eq!(
            from_secs(1.5, o, &v, "s").unwrap(),
            Duration::from_millis(1500)
        );
        assert!(millis(1e300, o, &v).is_err());
        assert_eq!(millis(1e-9, o, &v).unwrap(), Duration::from_nanos(1));
        assert!(non_negative(&json!(-1), o, "x").is_err());
        assert!(non_negative(&json!("Infinity"), o, "x").is_err());
        assert_eq!(non_negative(&json!("2.5"), o, "x").unwrap(), 2.5);
    }

    #[test]
    fn booleans_and_strings() {
        let o = Origin::Opt("b");
        assert!(boolean(&json!(true), o).unwrap());
        assert_eq!(
            boolean(&json!(1), o).unwrap_err().kind,
            ConfigErrorKind::Type
        );
        assert_eq!(string(&json!("s"), o).unwrap(), "s");
        assert_eq!(
            string(&json!(1), o).unwrap_err().kind,
            ConfigErrorKind::Type
        );
        assert!(is_function(&json!({"$function": true})));
        assert!(!is_function(&json!({"$function": false})));
        assert!(!is_function(&json!({})));
    }
}
