//! Writing STIX patterns from comparisons, and reading the equality comparisons back out of
//! one. Reading is deliberately shallow (no precedence, no qualifiers): the exporter wants
//! the `path = 'value'` pairs an indicator tests, not its full meaning.

use super::attribute::Comparison;

/// ANDs comparisons into a pattern, one observation expression per SCO type in the order the
/// types first appear: a single observation expression may only name one object type.
pub fn write_pattern(comparisons: &[Comparison]) -> String {
    let mut types: Vec<&str> = Vec::new();
    for c in comparisons {
        if !types.contains(&c.object_type()) {
            types.push(c.object_type());
        }
    }
    let observations: Vec<String> = types
        .iter()
        .map(|t| {
            let parts: Vec<String> = comparisons
                .iter()
                .filter(|c| c.object_type() == *t)
                .map(|c| format!("{} = '{}'", c.path, escape(&c.value)))
                .collect();
            format!("[{}]", parts.join(" AND "))
        })
        .collect();
    observations.join(" AND ")
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Op(String),
    Punct,
}

/// The `path = value` comparisons of a pattern, in order; comparisons with other operators
/// are counted in the second element so the caller can say what it left out.
pub fn comparisons(pattern: &str) -> (Vec<Comparison>, usize) {
    let tokens = tokenize(pattern);
    let mut found = Vec::new();
    let mut other = 0;
    for window in tokens.windows(3) {
        if let [Token::Word(path), Token::Op(op), value] = window {
            if !path.contains(':') {
                continue;
            }
            let value = match value {
                Token::Text(v) | Token::Word(v) => v.clone(),
                _ => continue,
            };
            if op == "=" {
                found.push(Comparison {
                    path: path.clone(),
                    value,
                });
            } else {
                other += 1;
            }
        }
    }
    (found, other)
}

fn tokenize(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if matches!(c, '[' | ']' | '(' | ')') {
            tokens.push(Token::Punct);
            i += 1;
        } else if c == '\'' {
            let (text, next) = quoted(&chars, i);
            tokens.push(Token::Text(text));
            i = next;
        } else if matches!(c, '=' | '!' | '<' | '>') {
            let start = i;
            while i < chars.len() && matches!(chars[i], '=' | '!' | '<' | '>') {
                i += 1;
            }
            tokens.push(Token::Op(chars[start..i].iter().collect()));
        } else {
            let (word, next) = word(&chars, i);
            tokens.push(Token::Word(word));
            i = next;
        }
    }
    tokens
}

/// A string literal from its opening quote; returns the unescaped text and the index after it.
fn quoted(chars: &[char], start: usize) -> (String, usize) {
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                text.push(chars[i + 1]);
                i += 2;
            }
            '\'' => return (text, i + 1),
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    (text, i)
}

/// An object path or keyword; a path may hold quoted steps (`hashes.'SHA-256'`) and list
/// indexes (`resolves_to_refs[*]`), which are kept as written.
fn word(chars: &[char], start: usize) -> (String, usize) {
    let mut i = start;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' && i > start && chars[i - 1] == '.' {
            let (_, next) = quoted(chars, i);
            i = next;
        } else if c == '['
            && chars
                .get(i + 1)
                .is_some_and(|n| *n == '*' || n.is_ascii_digit())
        {
            while i < chars.len() && chars[i] != ']' {
                i += 1;
            }
            i += 1;
        } else if c.is_whitespace()
            || matches!(c, '[' | ']' | '(' | ')' | '=' | '!' | '<' | '>' | '\'')
        {
            break;
        } else {
            i += 1;
        }
    }
    (
        chars[start..i.min(chars.len())].iter().collect(),
        i.min(chars.len()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(path: &str, value: &str) -> Comparison {
        Comparison {
            path: path.into(),
            value: value.into(),
        }
    }

    #[test]
    fn written_patterns_read_back() {
        let written = vec![
            c("file:name", "it's a \\ file"),
            c("file:hashes.'SHA-256'", "ab"),
            c("domain-name:resolves_to_refs[*].value", "198.51.100.1"),
        ];
        let pattern = write_pattern(&written);
        assert_eq!(
            pattern,
            "[file:name = 'it\\'s a \\\\ file' AND file:hashes.'SHA-256' = 'ab'] AND \
             [domain-name:resolves_to_refs[*].value = '198.51.100.1']"
        );
        assert_eq!(comparisons(&pattern), (written, 0));
    }

    #[test]
    fn other_operators_are_counted() {
        let (found, other) =
            comparisons("[ipv4-addr:value ISSUBSET '10.0.0.0/8' OR url:value != 'x']");
        assert!(found.is_empty());
        assert_eq!(other, 1);
    }
}
