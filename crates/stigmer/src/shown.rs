//! Text the CLI did not write itself (from the ledger, a node, a file), made
//! safe to print: control characters and bidirectional overrides are shown
//! as escapes (`\u{1b}`) instead of acting on the terminal. A ledger refuses
//! them in text fields now, but an older chain or a hostile node may still
//! send them. In `--json` output, JSON escapes control characters itself;
//! [`escape_json`] escapes the bidirectional ones too.

use std::borrow::Cow;

use serde_json::Value;

/// Whether printing `c` as is could act on a terminal or disguise text: the
/// characters the ledger refuses in text fields.
fn acts_on_terminal(c: char) -> bool {
    let mut buf = [0u8; 4];
    stigmer_protocol::ids::has_forbidden_char(c.encode_utf8(&mut buf))
}

/// `text` with every character that could act on a terminal escaped.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(acts_on_terminal) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if acts_on_terminal(c) {
            shown.extend(c.escape_unicode());
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

/// A JSON text with the bidirectional overrides and isolates, which JSON
/// leaves raw, written as `\uXXXX` escapes: the same JSON value, harmless
/// on a terminal. They can only be inside strings, where escapes are valid.
pub fn escape_json(json: String) -> String {
    if !json.chars().any(acts_on_terminal) {
        return json;
    }
    let mut shown = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if acts_on_terminal(c) {
            shown.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            shown.push(c);
        }
    }
    shown
}

/// `value` with every string in it (keys too) escaped, for text output.
pub fn escape_value(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(escape(text).into_owned()),
        Value::Array(items) => Value::Array(items.iter().map(escape_value).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, value)| (escape(key).into_owned(), escape_value(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_could_act_on_a_terminal_is_escaped() {
        // ESC, BEL, the C1 CSI, DEL, a newline, the bidi overrides and isolates.
        let hostile = [
            '\u{1b}', '\u{7}', '\u{9b}', '\u{7f}', '\n', '\r', '\t', '\u{202a}', '\u{202e}',
            '\u{2066}', '\u{2069}',
        ];
        for c in hostile {
            let text = format!("a{c}b");
            let shown = escape(&text);
            assert_eq!(shown, format!("a\\u{{{:x}}}b", c as u32));
            assert!(!shown.chars().any(acts_on_terminal));
        }
        assert_eq!(escape("\u{1b}]0;owned\u{7}"), "\\u{1b}]0;owned\\u{7}");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for text in [
            "Festival stage",
            "Gemüse & Brot",
            "日本語",
            "emoji 🎪",
            "a\\u{1b}b",
            "",
        ] {
            assert!(matches!(escape(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn json_stays_the_same_value_with_nothing_raw() {
        let value = serde_json::json!({ "a": "\u{202e}x\u{1b}", "\u{2066}": ["\u{2069}"] });
        let json = escape_json(value.to_string());
        assert!(!json.chars().any(acts_on_terminal), "{json}");
        assert!(json.contains("\\u202e"), "{json}");
        let back: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn every_string_of_a_value_is_escaped() {
        let value = serde_json::json!({
            "title": "x\u{1b}[2J",
            "list": ["\u{202e}gpj.exe", 5, null],
            "nested": { "k\u{7}": true },
        });
        let shown = escape_value(&value);
        assert_eq!(shown["title"], "x\\u{1b}[2J");
        assert_eq!(shown["list"][0], "\\u{202e}gpj.exe");
        assert_eq!(shown["list"][1], 5);
        assert_eq!(shown["nested"]["k\\u{7}"], true);
    }
}
