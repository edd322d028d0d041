//! Placeholders in arguments and environment values: `{name}` takes the trial's value of
//! parameter `name`, `{name?}` the same but drops the whole argument when the parameter is
//! inactive (a conditional parameter), and `{{` / `}}` are literal braces.

use hyperplug_core::{Params, Value};

/// One piece of a template.
#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Text(String),
    Param { name: String, optional: bool },
}

/// An argument or environment value with placeholders, parsed once when the objective is created.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Template {
    source: String,
    pieces: Vec<Piece>,
}

/// A placeholder whose parameter the trial does not have.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Missing {
    /// The parameter named.
    pub name: String,
}

impl Template {
    /// Parses `source`; the error says what is wrong with the braces, without naming the key.
    pub(crate) fn parse(source: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = source.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|&(_, c)| c) == Some('{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek().map(|&(_, c)| c) == Some('}') => {
                    chars.next();
                    text.push('}');
                }
                '}' => {
                    return Err(format!(
                        "`{source}` has a `}}` with no `{{` before it (at byte {at}); write `}}}}` for a literal brace"
                    ));
                }
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for (_, c) in chars.by_ref() {
                        match c {
                            '}' => {
                                closed = true;
                                break;
                            }
                            '{' => break,
                            c => name.push(c),
                        }
                    }
                    if !closed {
                        return Err(format!(
                            "`{source}` has a `{{` that is not closed (at byte {at}); write `{{{{` for a literal brace"
                        ));
                    }
                    let (name, optional) = match name.strip_suffix('?') {
                        Some(n) => (n.to_owned(), true),
                        None => (name, false),
                    };
                    if name.is_empty() {
                        return Err(format!(
                            "`{source}` has an empty placeholder; write `{{name}}` with a parameter's name, or `{{{{}}}}` for literal braces"
                        ));
                    }
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Param { name, optional });
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template {
            source: source.to_owned(),
            pieces,
        })
    }

    /// The text as written in the settings.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// The text with each placeholder replaced by its parameter's value (shell-quoted when
    /// `quote`); `None` when an optional placeholder's parameter is inactive, so the argument is
    /// dropped.
    pub(crate) fn render(&self, params: &Params, quote: bool) -> Result<Option<String>, Missing> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Param { name, optional } => match params.get(name) {
                    Some(v) if quote => out.push_str(&shell_quote(&render_value(v))),
                    Some(v) => out.push_str(&render_value(v)),
                    None if *optional => return Ok(None),
                    None => return Err(Missing { name: name.clone() }),
                },
            }
        }
        Ok(Some(out))
    }
}

/// A parameter's value as text, the same in arguments, environment variables and messages.
/// Floats print in Rust's shortest round-trip form (`0.001`, `1e-7` as `0.0000001`), which every
/// number parser reads back exactly.
pub(crate) fn render_value(v: &Value) -> String {
    v.to_string()
}

/// `s` as one word for `sh`: left alone when it holds only characters the shell takes literally,
/// single-quoted otherwise.
pub(crate) fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.,:/@%+=".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        [
            ("lr".to_owned(), Value::Float(0.001)),
            ("layers".to_owned(), Value::Int(3)),
            ("act".to_owned(), Value::Str("it's relu".to_owned())),
        ]
        .into_iter()
        .collect()
    }

    fn render(source: &str) -> Result<Option<String>, Missing> {
        Template::parse(source)
            .expect("valid")
            .render(&params(), false)
    }

    #[test]
    fn substitutes_escapes_and_drops_optional_arguments() {
        assert_eq!(render("--lr={lr}").unwrap().as_deref(), Some("--lr=0.001"));
        assert_eq!(render("{layers}x{lr}").unwrap().as_deref(), Some("3x0.001"));
        assert_eq!(
            render("{{lr}} is {lr}").unwrap().as_deref(),
            Some("{lr} is 0.001")
        );
        assert_eq!(render("a}}b").unwrap().as_deref(), Some("a}b"));
        assert_eq!(render("--units={units?}").unwrap(), None);
        assert_eq!(render("{layers?}").unwrap().as_deref(), Some("3"));
        assert_eq!(
            render("--units={units}").unwrap_err(),
            Missing {
                name: "units".into()
            }
        );
        // With no parameters, only text without placeholders renders: what `cmd[0]` checks use.
        let none = Params::new();
        assert_eq!(
            Template::parse("./run{{1}}.sh")
                .unwrap()
                .render(&none, false)
                .unwrap()
                .as_deref(),
            Some("./run{1}.sh")
        );
        assert!(
            Template::parse("{a}")
                .unwrap()
                .render(&none, false)
                .is_err()
        );
    }

    #[test]
    fn tiny_floats_print_without_exponent() {
        assert_eq!(render_value(&Value::Float(1e-7)), "0.0000001");
        assert_eq!(render_value(&Value::Float(2.5)), "2.5");
        assert_eq!(render_value(&Value::Bool(true)), "true");
    }

    #[test]
    fn bad_braces_are_refused_with_a_hint() {
        let e = Template::parse("--lr={lr").unwrap_err();
        assert!(e.contains("not closed") && e.contains("`{{`"), "{e}");
        let e = Template::parse("x}y").unwrap_err();
        assert!(e.contains("no `{` before it"), "{e}");
        let e = Template::parse("{}").unwrap_err();
        assert!(e.contains("empty placeholder"), "{e}");
        let e = Template::parse("{a{b}").unwrap_err();
        assert!(e.contains("not closed"), "{e}");
    }

    #[test]
    fn shell_quoting_keeps_values_one_word() {
        assert_eq!(shell_quote("0.001"), "0.001");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(
            Template::parse("--act {act}")
                .unwrap()
                .render(&params(), true)
                .unwrap()
                .as_deref(),
            Some(r"--act 'it'\''s relu'")
        );
    }
}
