//! The viewer's cookie sessions as HTTP sees them: the session settings, the two cookies
//! (`onemap_session`, HttpOnly, and `onemap_csrf`, readable by the page so that it can echo it
//! in `X-CSRF-Token`), the in-memory login rate limiter, the client address behind trusted
//! reverse proxies ([`TrustedProxies`]), the periodic deletion of expired sessions, and the
//! Content-Security-Policy that admits the viewer's own inline import map and nothing else
//! inline.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
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
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` headers are believed (the login
    /// limit and the audit trail then use the client address they forward). None by default:
    /// the socket's peer address is the client.
    pub trusted_proxies: TrustedProxies,
    /// How often the server deletes expired sessions.
    pub prune_every: Duration,
}

impl Default for SessionConfig {
    /// Cookies `Secure` only over https, 12 h idle / 7 d sessions, 5 failures per 5 minutes.
    fn default() -> Self {
        Self {
            secure_cookies: false,
            limits: SessionLimits::default(),
            login_failures: 5,
            login_window: Duration::from_secs(300),
            trusted_proxies: TrustedProxies::default(),
            prune_every: Duration::from_secs(600),
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

    /// The two `Set-Cookie` values of a new session: they live as long as the session would
    /// if it were not used again (the idle timeout), and are renewed when it is
    /// ([`Self::renew_cookies`]).
    pub(crate) fn set_cookies(
        &self,
        headers: &HeaderMap,
        id: &str,
        csrf: &str,
    ) -> [HeaderValue; 2] {
        let age = self.limits.cookie_max_age(self.limits.absolute);
        self.cookies_for(headers, id, csrf, age)
    }

    /// The `Set-Cookie` values that keep a session's cookies alive `age` longer, when the
    /// request's cookies are the session's own (the CSRF cookie is renewed only when the request
    /// carried it: its value is not stored).
    pub(crate) fn renew_cookies(
        &self,
        headers: &HeaderMap,
        csrf_sha256: &str,
        age: Duration,
    ) -> Vec<HeaderValue> {
        let Some(id) = cookie(headers, SESSION_COOKIE) else {
            return Vec::new();
        };
        let csrf = cookie(headers, CSRF_COOKIE)
            .filter(|c| onemap_access::sessions::csrf_matches(c, csrf_sha256));
        let [session_cookie, csrf_cookie] =
            self.cookies_for(headers, id, csrf.unwrap_or_default(), age);
        let mut out = vec![session_cookie];
        if csrf.is_some() {
            out.push(csrf_cookie);
        }
        out
    }

    fn cookies_for(
        &self,
        headers: &HeaderMap,
        id: &str,
        csrf: &str,
        age: Duration,
    ) -> [HeaderValue; 2] {
        let secure = if self.secure(headers) { "; Secure" } else { "" };
        let age = age.as_secs();
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

/// The reverse proxies whose forwarding headers are believed: a list of CIDR blocks
/// (`10.0.0.0/8`, `192.168.1.7`, `::1/128`). Empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Parses `CIDR[,CIDR…]` (an address without `/N` is that one address).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut blocks = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (addr, bits) = part
                .split_once('/')
                .map_or((part, None), |(a, b)| (a, Some(b)));
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| format!("{part:?} is not an IP address or CIDR block"))?;
            let addr = addr.to_canonical();
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                None => max,
                Some(b) => b
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| format!("{part:?}: the prefix length must be 0 to {max}"))?,
            };
            blocks.push((addr, bits));
        }
        Ok(Self(blocks))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` lies in one of the blocks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|(net, bits)| match (net, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(*bits)).unwrap_or(0);
                u32::from(*net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(*bits)).unwrap_or(0);
                u128::from(*net) & mask == u128::from(ip) & mask
            }
            _ => false,
        })
    }

    /// The client's address, as the login limit and the audit trail use it. The socket's
    /// `peer` unless it is a trusted proxy; then the right-most address of the forwarding
    /// chain (`Forwarded: for=…`, else `X-Forwarded-For`) that is not itself a trusted proxy:
    /// everything left of it was written by the client and proves nothing. A hop that is no IP
    /// address (`unknown`, an obfuscated name) ends the walk at the trusted hop after it.
    pub fn client(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Option<String> {
        let peer = peer?;
        if !self.contains(peer.ip()) {
            return Some(peer.to_string());
        }
        let chain = forwarded_chain(headers);
        if chain.is_empty() {
            return Some(peer.to_string());
        }
        let mut client = peer.ip().to_canonical();
        for hop in chain.iter().rev() {
            let Some(ip) = hop else {
                break;
            };
            client = *ip;
            if !self.contains(*ip) {
                break;
            }
        }
        Some(client.to_string())
    }
}

/// The addresses of the forwarding chain, client first: the `for=` parameters of every
/// `Forwarded` header (RFC 7239) or, without one, every `X-Forwarded-For`. `None` for a hop that
/// is no IP address.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>()
    };
    let forwarded = values(header::FORWARDED.as_str());
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (k, v) = pair.trim().split_once('=')?;
                    k.trim().eq_ignore_ascii_case("for").then(|| v.trim())
                })
            })
            .map(|node| parse_node(node.trim_matches('"')))
            .collect();
    }
    values("x-forwarded-for")
        .iter()
        .map(|node| parse_node(node))
        .collect()
}

/// An address of a forwarding header: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`,
/// `[2001:db8::1]:80`.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(addr) = node.parse::<SocketAddr>() {
        return Some(addr.ip().to_canonical());
    }
    node.strip_prefix('[')
        .and_then(|n| n.split_once(']'))
        .and_then(|(ip, _)| ip.parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
}

/// Deletes expired sessions every `prune_every` (the first time one period after the start),
/// with the server's write pool, until the process ends.
pub(crate) fn spawn_prune(state: &crate::state::AppState) -> tokio::task::JoinHandle<()> {
    let writer = state.writer.clone();
    let config = state.sessions.clone();
    tokio::spawn(async move {
        let every = config.prune_every.max(Duration::from_secs(1));
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let pruned = match writer.get().await {
                Ok(conn) => {
                    onemap_access::sessions::prune(&**conn, config.limits, PRUNE_GRACE).await
                }
                Err(e) => {
                    tracing::warn!("pruning sessions: no database connection: {e}");
                    continue;
                }
            };
            match pruned {
                Ok(0) => {}
                Ok(n) => tracing::info!("deleted {n} expired sessions"),
                Err(e) => tracing::warn!("pruning sessions: {e}"),
            }
        }
    })
}

/// How long past its expiry a session's row is kept: the browser's cookie lives as long as the
/// session, give or take the request that renewed it.
pub const PRUNE_GRACE: Duration = Duration::from_secs(300);

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

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn trusted_proxies_parse_cidr_blocks_and_refuse_nonsense() {
        let t = TrustedProxies::parse("10.0.0.0/8, 192.168.1.7,::1/128").unwrap();
        assert!(t.contains("10.200.3.4".parse().unwrap()));
        assert!(t.contains("192.168.1.7".parse().unwrap()));
        assert!(!t.contains("192.168.1.8".parse().unwrap()));
        assert!(t.contains("::1".parse().unwrap()));
        assert!(t.contains("::ffff:10.1.1.1".parse().unwrap()));
        assert!(!t.contains("11.0.0.1".parse().unwrap()));
        assert!(TrustedProxies::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        for bad in ["10.0.0.0/33", "proxy.local", "10.0.0.0/x", "::1/129"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
        assert!(TrustedProxies::parse("").unwrap().is_empty());
    }

    #[test]
    fn the_client_is_the_right_most_address_no_trusted_proxy_wrote() {
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let proxy: SocketAddr = "10.0.0.2:5000".parse().unwrap();
        let xff = |v| headers(&[("x-forwarded-for", v)]);
        // A client's own claim left of the real one is ignored.
        assert_eq!(
            t.client(Some(proxy), &xff("6.6.6.6, 203.0.113.9, 10.0.0.3")),
            Some("203.0.113.9".into())
        );
        assert_eq!(
            t.client(
                Some(proxy),
                &headers(&[(
                    "forwarded",
                    r#"for="[2001:db8::7]:4711";proto=https, for=10.1.1.1"#
                )])
            ),
            Some("2001:db8::7".into())
        );
        // Forwarded wins over X-Forwarded-For.
        assert_eq!(
            t.client(
                Some(proxy),
                &headers(&[
                    ("forwarded", "for=198.51.100.1"),
                    ("x-forwarded-for", "6.6.6.6")
                ])
            ),
            Some("198.51.100.1".into())
        );
        // No header from the proxy: the proxy itself.
        assert_eq!(
            t.client(Some(proxy), &HeaderMap::new()),
            Some("10.0.0.2:5000".into())
        );
        // A hop that is no address: the trusted hop after it.
        assert_eq!(
            t.client(Some(proxy), &xff("203.0.113.9, unknown, 10.0.0.3")),
            Some("10.0.0.3".into())
        );
        // From an untrusted peer the header is ignored.
        let direct: SocketAddr = "203.0.113.50:1234".parse().unwrap();
        assert_eq!(
            t.client(Some(direct), &xff("1.2.3.4")),
            Some("203.0.113.50:1234".into())
        );
        assert_eq!(
            TrustedProxies::default().client(Some(proxy), &xff("1.2.3.4")),
            Some("10.0.0.2:5000".into())
        );
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
