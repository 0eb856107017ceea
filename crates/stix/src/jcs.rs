//! JSON Canonicalization Scheme (RFC 8785), the input of deterministic SCO identifiers.
//!
//! Keys are sorted by their UTF-16 code units, strings are escaped exactly as ECMAScript's
//! `JSON.stringify` escapes them, and numbers are written as ECMAScript writes a double. Two
//! producers that follow the RFC compute the same bytes, and so the same UUIDv5, for the same
//! content.

use serde_json::Value;

/// Writes the canonical form of `value`.
///
/// ```
/// use serde_json::json;
/// let v = json!({"b": 1, "a": [true, null, "é\n"], "c": 1.5e30});
/// assert_eq!(watchpost_stix::jcs::to_string(&v), r#"{"a":[true,null,"é\n"],"b":1,"c":1.5e+30}"#);
/// ```
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

fn write_number(out: &mut String, n: &serde_json::Number) {
    // Integers that a double holds exactly print the same either way; larger ones are
    // rounded to a double first, as every ECMAScript producer would.
    let f = if let Some(i) = n.as_i64() {
        i as f64
    } else if let Some(u) = n.as_u64() {
        u as f64
    } else {
        n.as_f64().unwrap_or(0.0)
    };
    if f == 0.0 {
        out.push('0');
    } else {
        out.push_str(ryu_js::Buffer::new().format(f));
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc8785_sorting_by_utf16() {
        // From RFC 8785 §3.2.3: keys sort by UTF-16 code units, so U+1F600 (a surrogate
        // pair starting 0xD83D) sorts before U+FB33 although its code point is larger.
        let v = json!({"\u{fb33}": 1, "\u{1f600}": 2, "\r": 3, "1": 4});
        assert_eq!(
            to_string(&v),
            "{\"\\r\":3,\"1\":4,\"\u{1f600}\":2,\"\u{fb33}\":1}"
        );
    }

    #[test]
    fn rfc8785_numbers() {
        let v = json!([
            333333333.3333333,
            1e-7,
            4.5,
            0.002,
            1e21,
            -0.0,
            9007199254740993u64
        ]);
        assert_eq!(
            to_string(&v),
            "[333333333.3333333,1e-7,4.5,0.002,1e+21,0,9007199254740992]"
        );
    }
}
