//! The viewer's cookie sessions as HTTP sees them: the session settings, the two cookies
//! (`onemap_session`, HttpOnly, and `onemap_csrf`, readable by the page so that it can echo it
//! in `X-CSRF-Token`), the in-memory login rate limiter, and the Content-Security-Policy that
//! admits the viewer's own inline import map and nothing else inline.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue};
use onemap_access::sessions::SessionLimits;
use sha2::{Digest, Sha256};

/// Name of the cookie holding the session id (HttpOnly).
pub const SESSION_COOKIE: &str = "onemap_session";
/// Name of the cookie holding the CSRF token (readable by the viewer's scripts).
pub const CSRF_COOKIE: &str = "onemap_csrf";
/// Header in which unsafe cookie-authenticated requests echo the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Settings of cookie sessions and of the login rate limit.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Always mark the cookies `Secure` (behind a TLS-terminating proxy that does not send
    /// `X-Forwarded-Proto: https`). They are marked `Secure` anyway when that header says https.
    pub secure_cookies: bool,
    /// Idle timeout and absolute lifetime of a session.
    pub limits: SessionLimits,
    /// Failed logins allowed per client address and per user name within `login_window`;
    /// the next attempt is refused with 429 until the oldest failure leaves the window.
    pub login_failures: usize,
    pub login_window: Duration,
}

impl Default for SessionConfig {
    /// Cookies `Secure` only over https, 12 h idle / 7 d sessions, 5 failures per 5 minutes.
    fn default() -> Self {
        Self {
            secure_cookies: false,
            limits: SessionLimits::default(),
            login_failures: 5,
            login_window: Duration::from_secs(300),
        }
    }
}

impl SessionConfig {
    /// Whether cookies set in answer to a request with these headers get `Secure`.
    pub(crate) fn secure(&self, headers: &HeaderMap) -> bool {
        self.secure_cookies
            || headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|p| p.eq_ignore_ascii_case("https"))
    }

    /// The two `Set-Cookie` values of a new session.
    pub(crate) fn set_cookies(
        &self,
        headers: &HeaderMap,
        id: &str,
        csrf: &str,
    ) -> [HeaderValue; 2] {
        let secure = if self.secure(headers) { "; Secure" } else { "" };
        let age = self.limits.absolute.as_secs();
        // Both secrets are base64url: nothing to escape.
        [
            format!(
                "{SESSION_COOKIE}={id}; Path=/; Max-Age={age}; HttpOnly; SameSite=Strict{secure}"
            ),
            format!("{CSRF_COOKIE}={csrf}; Path=/; Max-Age={age}; SameSite=Strict{secure}"),
        ]
        .map(|c| HeaderValue::from_str(&c).expect("cookie values are base64url"))
    }

    /// The two `Set-Cookie` values that remove the session's cookies.
    pub(crate) fn clear_cookies(&self, headers: &HeaderMap) -> [HeaderValue; 2] {
        let secure = if self.secure(headers) { "; Secure" } else { "" };
        [
            format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{secure}"),
            format!("{CSRF_COOKIE}=; Path=/; Max-Age=0; SameSite=Strict{secure}"),
        ]
        .map(|c| HeaderValue::from_str(&c).expect("fixed cookie text"))
    }
}

/// The value of cookie `name` in the request's `Cookie` headers (the first, if repeated).
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Failed logins in memory, per key (`addr:IP` and `user:NAME`), newest last. Lost on restart
/// and not shared between server processes (each enforces its own limit).
pub(crate) struct LoginLimiter {
    max: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginLimiter {
    pub(crate) fn new(max: usize, window: Duration) -> Self {
        Self {
            max: max.max(1),
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The keys of a login attempt: the client's IP address (without the port) and the name.
    pub(crate) fn keys(from: Option<&str>, name: &str) -> [String; 2] {
        let ip = from
            .and_then(|f| f.parse::<std::net::SocketAddr>().ok())
            .map_or_else(
                || from.unwrap_or("unknown").to_owned(),
                |a| a.ip().to_string(),
            );
        let name: String = name.chars().take(64).collect::<String>().to_lowercase();
        [format!("addr:{ip}"), format!("user:{name}")]
    }

    /// `Some(wait)` when any key has used up its failures: how long until the oldest leaves
    /// the window.
    pub(crate) fn blocked(&self, keys: &[String]) -> Option<Duration> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .filter_map(|k| {
                let list = map.get_mut(k)?;
                while list
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    list.pop_front();
                }
                (list.len() >= self.max)
                    .then(|| self.window.saturating_sub(now.duration_since(list[0])))
            })
            .max()
    }

    /// Counts a failed attempt against every key.
    pub(crate) fn failed(&self, keys: &[String]) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            // Bounded memory under a flood of names: forget what has left the window.
            map.retain(|_, l| {
                l.back()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        for k in keys {
            let list = map.entry(k.clone()).or_default();
            list.push_back(now);
            while list.len() > self.max {
                list.pop_front();
            }
        }
    }

    /// A successful login clears the failures counted against its user name.
    pub(crate) fn succeeded(&self, name_key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(name_key);
    }
}

/// The Content-Security-Policy of every response: everything from this server only, no
/// inline script but the viewer's own (each inline `<script>` of the viewer's HTML files,
/// hashed when the server starts: the import map), MapLibre's workers from `blob:` or self,
/// inline style attributes (MapLibre positions its controls and popups with them).
pub(crate) fn content_security_policy(viewer_dir: &Path) -> HeaderValue {
    let mut hashes = String::new();
    if let Ok(entries) = std::fs::read_dir(viewer_dir) {
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "html"))
            .collect();
        files.sort();
        for file in files {
            let html = std::fs::read_to_string(&file).unwrap_or_default();
            for script in inline_scripts(&html) {
                hashes.push_str(&format!(" 'sha256-{}'", base64(&Sha256::digest(script))));
            }
        }
    }
    let policy = format!(
        "default-src 'self'; script-src 'self'{hashes}; worker-src 'self' blob:; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
         font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy).expect("the policy is ASCII")
}

/// The text of each `<script>` element without a `src` attribute.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        let body = &after[tag_end + 1..];
        let Some(close) = body.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            out.push(&body[..close]);
        }
        rest = &body[close..];
    }
    out
}

/// Standard base64 with padding (for CSP hashes).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0_u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_4648_examples() {
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn inline_scripts_skip_those_with_a_source() {
        let html = r#"<script type="importmap">{"a":1}</script><script type="module" src="/m.js"></script>"#;
        assert_eq!(inline_scripts(html), [r#"{"a":1}"#]);
    }

    #[test]
    fn the_limiter_blocks_after_the_allowed_failures_and_forgets_after_the_window() {
        let limiter = LoginLimiter::new(2, Duration::from_millis(200));
        let keys = LoginLimiter::keys(Some("10.0.0.1:555"), "Li.Ming");
        assert_eq!(keys, ["addr:10.0.0.1", "user:li.ming"]);
        limiter.failed(&keys);
        assert!(limiter.blocked(&keys).is_none());
        limiter.failed(&keys);
        assert!(limiter.blocked(&keys).is_some());
        std::thread::sleep(Duration::from_millis(250));
        assert!(limiter.blocked(&keys).is_none());
    }
}
