//! The token a non-loopback server requires: from an `Authorization: Bearer` header, or the
//! cookie a `?token=` link sets (so a browser can open the dashboard from one link).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::error::ApiError;

/// The cookie the `?token=` link sets.
const COOKIE: &str = "hyperplug_token";

/// A secret clients must present. Its `Debug` and messages never show it whole.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// A token; refused when empty or shorter than 16 characters (guessable), or when it holds
    /// characters a header or cookie cannot carry.
    pub fn new(secret: impl Into<String>) -> anyhow::Result<Token> {
        let secret = secret.into();
        if secret.chars().count() < 16 {
            anyhow::bail!(
                "the token is too short to be secret: give at least 16 characters (e.g. `openssl rand -hex 16`)"
            );
        }
        if !secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
        {
            anyhow::bail!(
                "the token may hold only letters, digits and - . _ ~ + / = (it travels in headers, cookies and links)"
            );
        }
        Ok(Token(secret))
    }

    /// The token's first four characters and an ellipsis: enough to tell tokens apart in a
    /// message, too little to use.
    pub fn link_hint(&self) -> String {
        format!("{}…", &self.0[..4])
    }

    /// Whether `given` is the token, in time that does not depend on where they differ.
    fn matches(&self, given: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), given.as_bytes());
        let mut diff = u8::from(a.len() != b.len());
        for (i, x) in a.iter().enumerate() {
            // Compare against the given bytes cyclically, so a short guess takes as long too.
            diff |= x ^ b.get(i % b.len().max(1)).copied().unwrap_or(0);
        }
        diff == 0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token({})", self.link_hint())
    }
}

/// Lets a request through when it presents the token, or when no token is configured (a
/// loopback server) and it comes from a loopback name; a `?token=` link that presents it is
/// redirected to the same page without it, with the cookie set.
pub(crate) async fn require_token(
    State(state): State<Arc<crate::State>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(token) = &state.config.token else {
        return match foreign(&req) {
            None => next.run(req).await,
            Some(name) => ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "this server has no token, so it answers only pages of this machine; `{name}` is not a loopback name (another site could otherwise drive it from your browser): open it as http://127.0.0.1:PORT/ or http://localhost:PORT/, or start it with --token to serve other names (e.g. behind a proxy)"
                ),
            )
            .into_response(),
        };
    };
    let headers = req.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='));
    if bearer.or(cookie).is_some_and(|t| token.matches(t)) {
        return next.run(req).await;
    }
    let query = req.uri().query().unwrap_or("");
    let linked = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .is_some_and(|t| token.matches(t));
    if linked {
        let mut response = Redirect::to(&without_token(req.uri().path(), query)).into_response();
        let cookie = format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/", token.0);
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, v);
        }
        return response;
    }
    let mut response = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "this server requires its token: send `Authorization: Bearer <token>`, or open a page once as `?token=<token>`",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// The `Host` or `Origin` of `req` that is not a loopback name, if one is not. Without a token
/// loopback is the only guard, and a browser on this machine reaches loopback for any site: a
/// cross-site request says so in `Origin`, and DNS rebinding (the attacker's name resolving to
/// 127.0.0.1, which makes it same-origin) in `Host`. A client that sends neither is let through.
fn foreign(req: &Request) -> Option<String> {
    let headers = req.headers();
    let text = |v: &HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned();
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| headers.get(header::HOST).map(text));
    let origin = headers.get(header::ORIGIN).map(text);
    // `null` (a sandboxed frame, a file) names no host, so it is foreign too.
    let origin = origin.map(|o| (o.split_once("://").map_or("", |(_, h)| h).to_owned(), o));
    host.map(|h| (h.clone(), h))
        .into_iter()
        .chain(origin)
        .find(|(name, _)| !is_loopback_name(name))
        .map(|(_, shown)| shown)
}

/// Whether `authority` (`name[:port]`, an IPv6 address in brackets) names this machine:
/// `localhost` or a loopback address.
fn is_loopback_name(authority: &str) -> bool {
    let name = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or("", |(ip, _)| ip),
        None => authority.rsplit_once(':').map_or(authority, |(n, _)| n),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Where a `?token=` link leads once the cookie is set: the same page, without the token.
/// One leading slash only, so the target stays on this server whatever routes are added: a
/// browser reads `//host` (and `/\host`) as another site.
fn without_token(path: &str, query: &str) -> String {
    let rest: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.starts_with("token=") && !kv.is_empty())
        .collect();
    let path = format!("/{}", path.trim_start_matches(['/', '\\']));
    if rest.is_empty() {
        path
    } else {
        format!("{path}?{}", rest.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_link_leads_to_its_page_on_this_server() {
        assert_eq!(without_token("/studies/a", "token=t&x=1"), "/studies/a?x=1");
        assert_eq!(without_token("/", "token=t"), "/");
        for path in ["//evil.example", "/\\evil.example", "///evil.example/x"] {
            let to = without_token(path, "token=t");
            assert!(to.starts_with("/evil.example"), "{path} -> {to}");
        }
    }

    #[test]
    fn tokens_match_only_themselves_and_never_show_whole() {
        let t = Token::new("abcdefghijklmnop1234").unwrap();
        assert!(t.matches("abcdefghijklmnop1234"));
        for wrong in [
            "",
            "a",
            "abcdefghijklmnop123",
            "abcdefghijklmnop12345",
            "bbcdefghijklmnop1234",
        ] {
            assert!(!t.matches(wrong), "{wrong}");
        }
        assert_eq!(format!("{t:?}"), "Token(abcd…)");
        assert!(Token::new("short").unwrap_err().to_string().contains("16"));
        assert!(Token::new("abcdefghijklmnop;12").is_err());
    }

    #[test]
    fn loopback_names_are_localhost_and_loopback_addresses() {
        for own in [
            "localhost",
            "LOCALHOST:8080",
            "127.0.0.1",
            "127.9.9.9:80",
            "[::1]",
            "[::1]:8080",
        ] {
            assert!(is_loopback_name(own), "{own}");
        }
        for other in [
            "",
            "null",
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "127.0.0.1.evil.example",
            "10.0.0.1:8080",
            "[::2]:8080",
            "[::1",
        ] {
            assert!(!is_loopback_name(other), "{other}");
        }
    }
}
