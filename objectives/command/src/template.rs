//! Placeholders in arguments and environment values: `{name}` takes the trial's value of
//! parameter `name`, `{name?}` the same but drops the whole argument when the parameter is
//! inactive (a conditional parameter), and `{{` / `}}` are literal braces.
//!
//! With `shell = true` a value never becomes part of the script: each placeholder is replaced by
//! a reference to one of the shell's positional parameters (`"${1}"`, or `${1}` between double
//! quotes) and the value is passed as that parameter (`sh -c SCRIPT hyperplug VALUE…`), so the
//! shell expands it as data, never parses it as code, whatever it holds. Where such a reference
//! would not be expanded as one word (between single quotes, in backquotes, `$((…))`, `${…}`,
//! after a backslash or a `$`), the settings are refused, naming the placeholder and the fix.

use hyperplug_core::{Params, Value};

/// One piece of a template.
#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Text(String),
    Param {
        name: String,
        optional: bool,
        /// Where it stands in a shell script (`Bare` outside shell mode).
        quoting: Quoting,
    },
}

/// The shell's quoting around a placeholder, which decides how its parameter is referenced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quoting {
    /// Outside quotes: `"${N}"`.
    Bare,
    /// Between double quotes: `${N}`.
    Double,
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
                    pieces.push(Piece::Param {
                        name,
                        optional,
                        quoting: Quoting::Bare,
                    });
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

    /// The names of the parameters its placeholders take.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Param { name, .. } => Some(name.as_str()),
            Piece::Text(_) => None,
        })
    }

    /// The text as written in the settings.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// The text with each placeholder replaced by its parameter's value; `None` when an optional
    /// placeholder's parameter is inactive, so the argument is dropped.
    pub(crate) fn render(&self, params: &Params) -> Result<Option<String>, Missing> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Param { name, optional, .. } => match params.get(name) {
                    Some(v) => out.push_str(&render_value(v)),
                    None if *optional => return Ok(None),
                    None => return Err(Missing { name: name.clone() }),
                },
            }
        }
        Ok(Some(out))
    }

    /// This piece of a shell script with each placeholder replaced by a reference to a new
    /// positional parameter, whose value is pushed onto `values` (`$1` is `values[0]`); `None`
    /// as [`Template::render`]. Only templates from [`parse_script`] may be rendered so.
    pub(crate) fn render_script(
        &self,
        params: &Params,
        values: &mut Vec<String>,
    ) -> Result<Option<String>, Missing> {
        let mark = values.len();
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Param {
                    name,
                    optional,
                    quoting,
                } => match params.get(name) {
                    Some(v) => {
                        values.push(render_value(v));
                        let n = values.len();
                        match quoting {
                            Quoting::Bare => out.push_str(&format!("\"${{{n}}}\"")),
                            Quoting::Double => out.push_str(&format!("${{{n}}}")),
                        }
                    }
                    None => {
                        values.truncate(mark);
                        return if *optional {
                            Ok(None)
                        } else {
                            Err(Missing { name: name.clone() })
                        };
                    }
                },
            }
        }
        Ok(Some(out))
    }
}

/// The pieces of a shell script (`cmd` with `shell = true`, its elements joined by spaces),
/// parsed, with each placeholder's quoting found; the error names the element and the fix.
pub(crate) fn parse_script(elements: &[String]) -> Result<Vec<Template>, String> {
    let mut templates = Vec::with_capacity(elements.len());
    let mut lexer = Lexer::default();
    for (i, source) in elements.iter().enumerate() {
        let mut t = Template::parse(source).map_err(|e| format!("`cmd[{i}]`: {e}"))?;
        if i > 0 {
            lexer.text(" ");
        }
        let before = lexer.stack.clone();
        let mut optional_here = false;
        for piece in &mut t.pieces {
            match piece {
                Piece::Text(text) => lexer.text(text),
                Piece::Param {
                    name,
                    optional,
                    quoting,
                } => {
                    optional_here |= *optional;
                    *quoting = lexer.placeholder().map_err(|why| {
                        format!(
                            "`cmd[{i}]`: the placeholder `{{{name}}}` in `{source}` is {why}; with `shell = true` hyperplug hands each value to the shell as one word of its own (a positional parameter, never text of the script), so write the placeholder outside quotes (`echo {{{name}}}`) or between double quotes (`echo \"x={{{name}}}\"`)"
                        )
                    })?;
                }
            }
        }
        if optional_here && lexer.stack != before {
            return Err(format!(
                "`cmd[{i}]` (`{source}`) may be dropped (it holds an optional placeholder) but opens or closes quotes or brackets; keep each optional element complete on its own"
            ));
        }
        templates.push(t);
    }
    if lexer.escaped {
        return Err("`cmd` ends with a backslash".into());
    }
    Ok(templates)
}

/// What encloses the current position of a shell script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Context {
    /// Commands, at the top or in `$(…)`; `parens` counts unclosed `(` within.
    Code {
        parens: u32,
    },
    /// `$((…))`.
    Arith {
        parens: u32,
    },
    /// `${…}`.
    Braces,
    Single,
    /// `$'…'`, where backslashes escape.
    AnsiC,
    Double,
    Backquote,
}

/// A small reader of POSIX `sh` quoting: enough to know where a placeholder stands. It only
/// decides between `"${N}"`, `${N}` and a refusal: values never enter the script, so a script it
/// misreads at worst gets the value split into words or the reference shown literally, and runs
/// nothing more.
#[derive(Clone, Debug)]
struct Lexer {
    stack: Vec<Context>,
    /// The last character was an unquoted or double-quoted backslash.
    escaped: bool,
    /// The last character was a `$` that may start an expansion.
    dollar: bool,
    /// In a `#` comment, until the end of the line.
    comment: bool,
    /// The last character ends a word (so a `#` would start a comment).
    at_word_start: bool,
}

impl Default for Lexer {
    fn default() -> Self {
        Lexer {
            stack: vec![Context::Code { parens: 0 }],
            escaped: false,
            dollar: false,
            comment: false,
            at_word_start: true,
        }
    }
}

impl Lexer {
    fn top(&self) -> Context {
        self.stack
            .last()
            .copied()
            .unwrap_or(Context::Code { parens: 0 })
    }

    fn top_mut(&mut self) -> Option<&mut Context> {
        self.stack.last_mut()
    }

    fn pop(&mut self) {
        // The outermost context is never left, whatever stray closers the script holds.
        if self.stack.len() > 1 {
            self.stack.pop();
        }
    }

    /// Where a placeholder here would stand, or why it cannot.
    fn placeholder(&mut self) -> Result<Quoting, &'static str> {
        if self.escaped {
            return Err("right after a backslash");
        }
        if self.dollar {
            return Err("right after a `$` (for the shell's own `${name}`, write `${{name}}`)");
        }
        if self.comment {
            // A comment runs nothing: the reference is as harmless there as anywhere.
            return Ok(Quoting::Bare);
        }
        let quoting = match self.top() {
            Context::Code { .. } => Quoting::Bare,
            Context::Double => Quoting::Double,
            Context::Single | Context::AnsiC => return Err("between single quotes"),
            Context::Backquote => return Err("inside backquotes (use `$(…)` instead)"),
            Context::Arith { .. } => return Err("inside an arithmetic expansion `$((…))`"),
            Context::Braces => return Err("inside a parameter expansion `${…}`"),
        };
        self.at_word_start = false;
        Ok(quoting)
    }

    fn text(&mut self, text: &str) {
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            let dollar = std::mem::take(&mut self.dollar);
            if self.comment {
                if c == '\n' {
                    self.comment = false;
                    self.at_word_start = true;
                }
                continue;
            }
            if self.escaped {
                self.escaped = false;
                self.at_word_start = false;
                continue;
            }
            let word_start = std::mem::replace(&mut self.at_word_start, false);
            match self.top() {
                Context::Single => {
                    if c == '\'' {
                        self.pop();
                    }
                }
                Context::AnsiC => match c {
                    '\\' => self.escaped = true,
                    '\'' => self.pop(),
                    _ => {}
                },
                Context::Double => match c {
                    '\\' => self.escaped = true,
                    '"' => self.pop(),
                    '`' => self.stack.push(Context::Backquote),
                    '$' => self.dollar = true,
                    '(' if dollar => self.open_paren(&mut chars),
                    '{' if dollar => self.stack.push(Context::Braces),
                    _ => {}
                },
                Context::Backquote => match c {
                    '\\' => self.escaped = true,
                    '`' => self.pop(),
                    _ => {}
                },
                Context::Braces => match c {
                    '\\' => self.escaped = true,
                    '}' => self.pop(),
                    '\'' => self.stack.push(Context::Single),
                    '"' => self.stack.push(Context::Double),
                    '$' => self.dollar = true,
                    '(' if dollar => self.open_paren(&mut chars),
                    _ => {}
                },
                Context::Code { .. } | Context::Arith { .. } => match c {
                    '\\' => self.escaped = true,
                    '\'' if dollar => self.stack.push(Context::AnsiC),
                    '\'' => self.stack.push(Context::Single),
                    '"' => self.stack.push(Context::Double),
                    '`' => self.stack.push(Context::Backquote),
                    '$' => self.dollar = true,
                    '{' if dollar => self.stack.push(Context::Braces),
                    '(' if dollar => self.open_paren(&mut chars),
                    '(' => self.nest(1),
                    ')' => self.close_paren(&mut chars),
                    '#' if word_start && matches!(self.top(), Context::Code { .. }) => {
                        self.comment = true;
                    }
                    c if c.is_whitespace() || ";&|<>".contains(c) => self.at_word_start = true,
                    _ => {}
                },
            }
        }
    }

    /// After `$(`: a command substitution, or with a second `(`, an arithmetic expansion.
    fn open_paren(&mut self, chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
        if chars.peek() == Some(&'(') {
            chars.next();
            self.stack.push(Context::Arith { parens: 0 });
        } else {
            self.stack.push(Context::Code { parens: 0 });
            self.at_word_start = true;
        }
    }

    fn nest(&mut self, by: u32) {
        if let Some(Context::Code { parens } | Context::Arith { parens }) = self.top_mut() {
            *parens += by;
        }
        self.at_word_start = true;
    }

    fn close_paren(&mut self, chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
        match self.top_mut() {
            Some(Context::Code { parens } | Context::Arith { parens }) if *parens > 0 => {
                *parens -= 1;
            }
            Some(Context::Arith { .. }) => {
                // `))` ends it; a lone `)` is a syntax error the shell will report.
                if chars.peek() == Some(&')') {
                    chars.next();
                }
                self.pop();
            }
            _ => self.pop(),
        }
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
        Template::parse(source).expect("valid").render(&params())
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
                .render(&none)
                .unwrap()
                .as_deref(),
            Some("./run{1}.sh")
        );
        assert!(Template::parse("{a}").unwrap().render(&none).is_err());
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
    }

    fn script(elements: &[&str]) -> Result<(String, Vec<String>), String> {
        let elements: Vec<String> = elements.iter().map(|s| s.to_string()).collect();
        let templates = parse_script(&elements)?;
        let mut values = Vec::new();
        let mut parts = Vec::new();
        for t in &templates {
            if let Some(p) = t.render_script(&params(), &mut values).expect("params") {
                parts.push(p);
            }
        }
        Ok((parts.join(" "), values))
    }

    #[test]
    fn script_placeholders_become_positional_parameters() {
        assert_eq!(
            script(&["echo {act} --lr={lr}"]).unwrap(),
            (
                r#"echo "${1}" --lr="${2}""#.to_owned(),
                vec!["it's relu".to_owned(), "0.001".to_owned()]
            )
        );
        assert_eq!(
            script(&["echo", "\"x={act} y\"", "$(echo {layers})", "# {lr}"]).unwrap(),
            (
                r#"echo "x=${1} y" $(echo "${2}") # "${3}""#.to_owned(),
                vec!["it's relu".to_owned(), "3".to_owned(), "0.001".to_owned()]
            )
        );
        // An inactive optional element is dropped with its value.
        assert_eq!(
            script(&["echo", "--u={units?}", "{layers}"]).unwrap(),
            (r#"echo "${1}""#.to_owned(), vec!["3".to_owned()])
        );
        // Quotes closed before the placeholder count as closed, `\'` as a character.
        assert_eq!(
            script(&["echo 'a' \\'{layers}"]).unwrap().0,
            r#"echo 'a' \'"${1}""#
        );
        assert!(script(&["echo 'a' {layers} \"'\" {lr}"]).is_ok());
    }

    #[test]
    fn placeholders_the_shell_would_not_expand_as_one_word_are_refused() {
        for (source, why) in [
            ("echo '{act}'", "between single quotes"),
            ("echo 'x' 'y{act}z'", "between single quotes"),
            ("echo $'{act}'", "between single quotes"),
            ("echo \"$(echo '{act}')\"", "between single quotes"),
            ("echo `echo {act}`", "inside backquotes"),
            ("echo $(( {layers} + 1 ))", "inside an arithmetic expansion"),
            ("echo ${{x:-{act}}}", "inside a parameter expansion"),
            ("echo \\{act}", "right after a backslash"),
            ("echo ${act}", "right after a `$`"),
        ] {
            let e = script(&[source]).unwrap_err();
            assert!(
                e.starts_with("`cmd[0]`: the placeholder `{") && e.contains(why),
                "{source}: {e}"
            );
        }
        let e = script(&["echo", "'{units?}", "x'"]).unwrap_err();
        assert!(e.contains("between single quotes"), "{e}");
        let e = script(&["echo", "\"{units?}", "x\""]).unwrap_err();
        assert!(
            e.contains("`cmd[1]`") && e.contains("keep each optional element complete"),
            "{e}"
        );
        assert_eq!(
            script(&["echo \\"]).unwrap_err(),
            "`cmd` ends with a backslash"
        );
    }
}
