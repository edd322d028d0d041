use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use percent_encoding::percent_decode_str;
use postgres::Config;
use postgres::config::Host;

use crate::error::StorageError;
use crate::{Mode, PostgresStorage, SqliteStorage, Store};

/// The store used when neither the study file nor the command line names one.
pub const DEFAULT_URL: &str = "sqlite://hyperplug.db";

/// The PostgreSQL schema used when the URL names none: hyperplug's tables stay out of `public`,
/// where other programs (Optuna among them) keep tables of the same names.
const DEFAULT_SCHEMA: &str = "hyperplug";

/// Where a store is, parsed from a storage URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// In this process only.
    Memory,
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres {
        /// The connection URL without `schema=` (with hyperplug's `password_file=` and
        /// `password_env=`, which are read when the store is opened).
        url: String,
        /// The schema that holds hyperplug's tables.
        schema: String,
    },
}

impl Location {
    /// Parses a storage URL: `sqlite://PATH`, `sqlite:///ABSOLUTE/PATH`, `postgres://…` or
    /// `postgresql://…` (with `schema=NAME` among its query options), or `memory`.
    pub fn parse(url: &str) -> Result<Location, StorageError> {
        let url = url.trim();
        if url == "memory" || url == "memory://" {
            return Ok(Location::Memory);
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() || path == "/" {
                return Err(bad(url, "it names no file"));
            }
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return postgres(url);
        }
        let hint = if url.contains("://") {
            "its scheme is not one hyperplug knows".to_owned()
        } else {
            format!("for a SQLite file write sqlite://{}", redact(url))
        };
        Err(bad(url, &hint))
    }

    /// Opens the persistent store here. `memory` is refused: nothing in it outlives a process.
    pub fn open_store(&self, mode: Mode) -> Result<Arc<dyn Store>, StorageError> {
        match self {
            Location::Memory => Err(StorageError::Unsupported(
                "`memory` keeps a study only while one process runs it, so there is nothing stored to read or join; use sqlite://FILE or postgres://…".into(),
            )),
            Location::Sqlite(path) => Ok(Arc::new(SqliteStorage::open(path, mode)?)),
            Location::Postgres { url, schema } => {
                Ok(Arc::new(PostgresStorage::open_with(url, schema, mode)?))
            }
        }
    }
}

impl fmt::Display for Location {
    /// The URL again, with any password left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Memory => f.write_str("memory"),
            Location::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Location::Postgres { url, schema } => {
                write!(f, "{}", redact(url))?;
                if schema != DEFAULT_SCHEMA {
                    write!(f, " (schema {schema})")?;
                }
                Ok(())
            }
        }
    }
}

fn bad(url: &str, why: &str) -> StorageError {
    StorageError::BadUrl(format!(
        "`{}` is not a storage URL ({why}); use sqlite://PATH (a file; sqlite:///PATH when absolute), postgres://USER@HOST:PORT/DATABASE, or memory",
        redact(url)
    ))
}

/// Splits `schema=NAME` out of a PostgreSQL URL's query; the client refuses options it does
/// not know. `password_file=` and `password_env=` stay in the URL: they are read when the store
/// is opened, on the machine that opens it ([`client_config`]).
fn postgres(url: &str) -> Result<Location, StorageError> {
    let (base, query) = split_query(url);
    let mut schema = DEFAULT_SCHEMA.to_owned();
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("schema", name)) => {
                let valid = !name.is_empty()
                    && name.len() <= 63
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !name.starts_with(|c: char| c.is_ascii_digit());
                if !valid {
                    return Err(bad(
                        url,
                        &format!(
                            "schema `{name}` must be letters, digits and `_`, not starting with a digit"
                        ),
                    ));
                }
                schema = name.to_owned();
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let (client_url, _) = own_options(&url);
    client_url
        .parse::<Config>()
        .map_err(|e| bad(&url, &format!("the PostgreSQL client cannot read it: {e}")))?;
    Ok(Location::Postgres { url, schema })
}

/// The URL before its query and the query, split where the client splits them: after the
/// credentials (a password may hold `?` or `/`).
fn split_query(url: &str) -> (&str, &str) {
    let after_creds = url.find('@').map_or(0, |at| at + 1);
    match url[after_creds..].find('?') {
        Some(q) => (&url[..after_creds + q], &url[after_creds + q + 1..]),
        None => (url, ""),
    }
}

/// Where a password comes from when the URL itself holds none: hyperplug's own options.
#[derive(Default)]
struct PasswordRef {
    /// `password_file=PATH`: the first line of that file.
    file: Option<String>,
    /// `password_env=NAME`: that environment variable.
    env: Option<String>,
}

/// `url` without `password_file=` and `password_env=` (which the client would refuse), and
/// those options.
fn own_options(url: &str) -> (String, PasswordRef) {
    let (base, query) = split_query(url);
    let mut refs = PasswordRef::default();
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let decoded = |v: &str| percent_decode_str(v).decode_utf8_lossy().into_owned();
        match pair.split_once('=') {
            Some(("password_file", v)) => refs.file = Some(decoded(v)),
            Some(("password_env", v)) => refs.env = Some(decoded(v)),
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, refs)
}

/// The environment variable libpq reads a password from.
const PASSWORD_VAR: &str = "PGPASSWORD";
/// The environment variable naming libpq's password file (`~/.pgpass` by default).
const PASSFILE_VAR: &str = "PGPASSFILE";

/// The PostgreSQL client's configuration for a [`Location::Postgres`] URL. When the URL holds
/// no password, one is looked up the way libpq does, so that no password need be written in a
/// study file or on a command line: `password_file=PATH` (the file's first line),
/// `password_env=NAME` (that variable), then `PGPASSWORD`, then the password file
/// (`PGPASSFILE`, else `~/.pgpass`; ignored, with a warning, when others may read it).
pub(crate) fn client_config(url: &str) -> Result<Config, StorageError> {
    let (client_url, refs) = own_options(url);
    let mut config: Config = client_url
        .parse()
        .map_err(|e| bad(url, &format!("the PostgreSQL client cannot read it: {e}")))?;
    if config.get_password().is_some() {
        return Ok(config);
    }
    let location = || redact(url);
    if let Some(path) = &refs.file {
        let text = std::fs::read_to_string(path).map_err(|e| StorageError::Open {
            location: location(),
            reason: format!("cannot read its password_file {path}: {e}"),
        })?;
        config.password(text.lines().next().unwrap_or(""));
        return Ok(config);
    }
    if let Some(var) = &refs.env {
        let value = std::env::var(var).map_err(|_| StorageError::Open {
            location: location(),
            reason: format!(
                "its password_env names the environment variable {var}, which is not set"
            ),
        })?;
        config.password(value);
        return Ok(config);
    }
    if let Ok(value) = std::env::var(PASSWORD_VAR) {
        config.password(value);
        return Ok(config);
    }
    if let Some(password) = passfile_password(&config) {
        config.password(password);
    }
    Ok(config)
}

/// The password for `config`'s first host, port, database and user in libpq's password file.
fn passfile_password(config: &Config) -> Option<String> {
    let path = match std::env::var_os(PASSFILE_VAR) {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".pgpass"),
    };
    let text = std::fs::read_to_string(&path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            log::warn!(
                "ignoring the password file {}: group or others may read it; chmod 0600 it",
                path.display()
            );
            return None;
        }
    }
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        // libpq matches a local socket as `localhost`.
        _ => "localhost".to_owned(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user()?;
    let db = config.get_dbname().unwrap_or(user);
    passfile_lookup(&text, [&host, &port, db, user])
}

/// The password of the first line of a libpq password file (`host:port:database:user:password`,
/// `*` matching anything, `\:` and `\\` escaping) that matches `wanted`.
fn passfile_lookup(text: &str, wanted: [&str; 4]) -> Option<String> {
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = vec![String::new()];
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(next) = chars.next() {
                        fields.last_mut()?.push(next);
                    }
                }
                ':' if fields.len() < 5 => fields.push(String::new()),
                c => fields.last_mut()?.push(c),
            }
        }
        if fields.len() == 5
            && fields
                .iter()
                .zip(wanted)
                .all(|(field, want)| field == "*" || field == want)
        {
            return fields.pop();
        }
    }
    None
}

/// A storage URL fit to show: a password in the URL's credentials (everything from the first
/// `:` of the user part to its `@`, as the PostgreSQL client reads it, so `/`, `?` and `@` in
/// a password are covered) and the value of every query option whose name ends in
/// `password` become `***`. Text that is no URL (a libpq `key=value` string, a mistyped URL)
/// has its `password = value` pairs and anything between a `:` and an `@` hidden too. Every
/// message, log line and stored study shows URLs through this.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return redact_options(&redact_loose(url));
    };
    let head = scheme_end + 3;
    let rest = &url[head..];
    let (Some(first_at), Some(last_at)) = (rest.find('@'), rest.rfind('@')) else {
        return format!("{}{}", &url[..head], redact_options(rest));
    };
    match rest[..first_at].find(':') {
        // Through the last `@`: a password written with a raw `@` is hidden whole.
        Some(colon) => format!(
            "{}{}:***@{}",
            &url[..head],
            &rest[..colon],
            redact_options(&rest[last_at + 1..])
        ),
        None => format!(
            "{}{}{}",
            &url[..head],
            &rest[..=first_at],
            redact_options(&rest[first_at + 1..])
        ),
    }
}

/// `text`, not a URL, with the value of every `password = value` pair (libpq's keyword form,
/// the value bare or single-quoted) and what stands between its first `:` and last `@` (a URL
/// written without `//`) replaced by `***`.
fn redact_loose(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(found) = lower[at..].find("password") {
        let key_end = at + found + "password".len();
        let after_key = key_end + (text[key_end..].len() - text[key_end..].trim_start().len());
        if !text[after_key..].starts_with('=') {
            out.push_str(&text[at..key_end]);
            at = key_end;
            continue;
        }
        let value = after_key
            + 1
            + (text[after_key + 1..].len() - text[after_key + 1..].trim_start().len());
        let rest = &text[value..];
        let len = if let Some(quoted) = rest.strip_prefix('\'') {
            let mut escaped = false;
            let close = quoted.char_indices().find(|&(_, c)| {
                let end = c == '\'' && !escaped;
                escaped = c == '\\' && !escaped;
                end
            });
            close.map_or(rest.len(), |(i, _)| i + 2)
        } else {
            rest.find(char::is_whitespace).unwrap_or(rest.len())
        };
        out.push_str(&text[at..value]);
        out.push_str("***");
        at = value + len;
    }
    out.push_str(&text[at..]);
    match (out.find(':'), out.rfind('@')) {
        (Some(colon), Some(last_at)) if colon < last_at => {
            format!("{}:***{}", &out[..colon], &out[last_at..])
        }
        _ => out,
    }
}

/// `text` with the values of `…password=` query options replaced by `***`, however often they
/// appear, with percent-encoded names decoded as the client decodes them.
fn redact_options(text: &str) -> String {
    let Some(q) = text.find('?') else {
        return text.to_owned();
    };
    let mut out = text[..=q].to_owned();
    let mut hiding = false;
    let pairs: Vec<String> = text[q + 1..]
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) => {
                let name = percent_decode_str(key)
                    .decode_utf8_lossy()
                    .to_ascii_lowercase();
                hiding = name.trim().ends_with("password");
                if hiding {
                    format!("{key}=***")
                } else {
                    pair.to_owned()
                }
            }
            // A piece without `=` after a password is the rest of a password holding `&`.
            None if hiding => "***".to_owned(),
            None => pair.to_owned(),
        })
        .collect();
    out.push_str(&pairs.join("&"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_text_that_is_no_url_is_hidden() {
        for (given, shown) in [
            (
                "host=db user=hp password=S3CRET dbname=test",
                "host=db user=hp password=*** dbname=test",
            ),
            (
                "host=db PASSWORD = 'S3 C\\'RET' dbname=test",
                "host=db PASSWORD = *** dbname=test",
            ),
            ("password=S3CRET", "password=***"),
            ("password_file=/run/pw", "password_file=/run/pw"),
            (
                "postgres:hp:S3CRET@db:5432/test",
                "postgres:***@db:5432/test",
            ),
            ("hyperplug.db", "hyperplug.db"),
        ] {
            assert_eq!(redact(given), shown, "{given}");
            let refused = Location::parse(given).err().map(|e| e.to_string());
            assert!(!refused.unwrap_or_default().contains("S3"), "{given}");
        }
    }

    #[test]
    fn every_form_parses_and_bad_ones_say_what_exists() {
        assert_eq!(Location::parse("memory").unwrap(), Location::Memory);
        assert_eq!(
            Location::parse("sqlite://hyperplug.db").unwrap(),
            Location::Sqlite("hyperplug.db".into())
        );
        assert_eq!(
            Location::parse("sqlite:///tmp/x/s.db").unwrap(),
            Location::Sqlite("/tmp/x/s.db".into())
        );
        assert_eq!(
            Location::parse("postgresql://me@db:5432/test?schema=s_1&connect_timeout=3").unwrap(),
            Location::Postgres {
                url: "postgresql://me@db:5432/test?connect_timeout=3".into(),
                schema: "s_1".into()
            }
        );
        let Location::Postgres { schema, .. } = Location::parse("postgres://me@db/test").unwrap()
        else {
            panic!("not postgres")
        };
        assert_eq!(schema, "hyperplug");
        for (url, needle) in [
            ("studies.db", "sqlite://studies.db"),
            ("mysql://x/y", "scheme"),
            ("sqlite://", "names no file"),
            ("postgres://me@db/test?schema=1x", "schema `1x`"),
            ("postgres://me@db/test?schema=a;drop", "schema"),
            ("postgres://me@db/test?colour=red", "cannot read it"),
        ] {
            let e = Location::parse(url).unwrap_err().to_string();
            assert!(e.contains(needle), "{url}: {e}");
            assert!(e.contains("sqlite://PATH") && e.contains("memory"), "{e}");
        }
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://me:hunter2@db:5432/test"),
            "postgres://me:***@db:5432/test"
        );
        assert_eq!(
            redact("postgres://db/test?password=hunter2&x=1"),
            "postgres://db/test?password=***&x=1"
        );
        let e = Location::parse("postgres://me:hunter2@db/test?colour=red")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
        let loc = Location::parse("postgres://me:hunter2@db/test?schema=s").unwrap();
        assert_eq!(loc.to_string(), "postgres://me:***@db/test (schema s)");
    }

    #[test]
    fn passwords_with_url_delimiters_and_repeated_options_are_hidden_whole() {
        for (url, shown) in [
            ("postgres://me:s3cr/et@db/test", "postgres://me:***@db/test"),
            ("postgres://me:s3cr?et@db/test", "postgres://me:***@db/test"),
            (
                "postgres://me:s3/c?r@et@db:5432/test",
                "postgres://me:***@db:5432/test",
            ),
            (
                "postgres://me@db/test?password=s3cret&password=s3cret2&application_name=x",
                "postgres://me@db/test?password=***&password=***&application_name=x",
            ),
            (
                "postgres://me@db/test?pass%77ord=s3cret&sslpassword=s3cret",
                "postgres://me@db/test?pass%77ord=***&sslpassword=***",
            ),
            (
                "postgres://me@db/test?password=s3&cret",
                "postgres://me@db/test?password=***&***",
            ),
            (
                "postgresql://db?password_file=/run/pw",
                "postgresql://db?password_file=/run/pw",
            ),
        ] {
            assert_eq!(redact(url), shown, "{url}");
            let e = Location::parse(&format!("{url}&colour=red")).map(|l| l.to_string());
            let text = format!("{e:?}");
            assert!(!text.contains("s3"), "{text}");
        }
    }

    #[test]
    fn a_password_comes_from_the_url_a_file_or_a_variable_named_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "from-file\nignored\n").unwrap();
        let url = format!("postgres://me@db/test?password_file={}", file.display());
        let Location::Postgres { url: kept, .. } = Location::parse(&url).unwrap() else {
            panic!("not postgres")
        };
        assert_eq!(kept, url, "the option is read when the store opens");
        let config = client_config(&url).unwrap();
        assert_eq!(config.get_password(), Some(&b"from-file"[..]));
        assert_eq!(config.get_dbname(), Some("test"));
        // A password in the URL wins.
        let config = client_config(&format!(
            "postgres://me:inline@db/test?password_file={}",
            file.display()
        ))
        .unwrap();
        assert_eq!(config.get_password(), Some(&b"inline"[..]));
        let path = std::env::var("PATH").unwrap();
        let config = client_config("postgres://me@db/test?password_env=PATH").unwrap();
        assert_eq!(config.get_password(), Some(path.as_bytes()));
        let e = client_config("postgres://me@db/test?password_env=HYPERPLUG_NO_SUCH_VARIABLE")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("HYPERPLUG_NO_SUCH_VARIABLE") && e.contains("not set"),
            "{e}"
        );
        let e = client_config("postgres://me@db/test?password_file=/no/such/file")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cannot read its password_file /no/such/file"),
            "{e}"
        );
    }

    #[test]
    fn the_password_file_is_read_as_libpq_reads_it() {
        let text = "# comment\n\
                    other:5432:*:me:wrong\n\
                    db:5432:test:me:right\\:with\\\\escapes\n\
                    *:*:*:*:fallback\n";
        assert_eq!(
            passfile_lookup(text, ["db", "5432", "test", "me"]).as_deref(),
            Some("right:with\\escapes")
        );
        assert_eq!(
            passfile_lookup(text, ["db", "5433", "test", "me"]).as_deref(),
            Some("fallback")
        );
        assert_eq!(
            passfile_lookup("db:5432:test:me\n", ["db", "5432", "test", "me"]),
            None
        );
    }
}
