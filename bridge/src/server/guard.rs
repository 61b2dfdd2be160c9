//! Request guards: the Host check (DNS-rebinding defence) on every route, the Origin check
//! on every browser-reachable route, and the bearer token on the agent and desktop APIs.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::token::TokenFile;

/// The names the bridge answers to, all of them loopback, with its one port.
#[derive(Clone, Debug)]
pub struct Origins {
    port: u16,
}

const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

impl Origins {
    pub fn new(port: u16) -> Self {
        Origins { port }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The origin the panes are served from (and the manifests point at).
    pub fn primary(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    /// `host:port` as a browser or client sends it in Host / :authority.
    pub fn is_own_authority(&self, authority: &str) -> bool {
        let authority = authority.trim();
        let Some((host, port)) = authority.rsplit_once(':') else {
            return false;
        };
        port.parse::<u16>().ok() == Some(self.port)
            && LOOPBACK_HOSTS.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    /// `https://host:port`, exactly: scheme https, a loopback name, this port, no path.
    pub fn is_own_origin(&self, origin: &str) -> bool {
        origin
            .strip_prefix("https://")
            .is_some_and(|authority| self.is_own_authority(authority))
    }

    /// For the CSP's connect-src. IPv6 literals are left out: Chromium rejects
    /// `wss://[::1]:PORT` as an invalid source and logs it on every page load, and the
    /// panes always connect to the host they were served from (localhost).
    pub fn websocket_sources(&self) -> String {
        LOOPBACK_HOSTS
            .iter()
            .filter(|h| !h.starts_with('['))
            .map(|h| format!("wss://{h}:{}", self.port))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn plain(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

/// The authority a request was addressed to: `:authority` for HTTP/2, Host for HTTP/1.
fn request_authority(req: &Request) -> Option<String> {
    if let Some(a) = req.uri().authority() {
        return Some(a.as_str().to_string());
    }
    req.headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
}

/// Every route: the Host must be a loopback name with our port, so a page on another
/// site that rebinds its DNS name to 127.0.0.1 cannot talk to the bridge. A present
/// Origin must be our own, so no other site can drive the bridge from a browser.
pub async fn host_and_origin(
    State(origins): State<Arc<Origins>>,
    req: Request,
    next: Next,
) -> Response {
    match request_authority(&req) {
        Some(a) if origins.is_own_authority(&a) => {}
        Some(_) => {
            return plain(
                StatusCode::MISDIRECTED_REQUEST,
                "this bridge only answers to localhost, 127.0.0.1 or [::1] on its own port",
            );
        }
        None => return plain(StatusCode::BAD_REQUEST, "missing Host header"),
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let own = origin.to_str().is_ok_and(|o| origins.is_own_origin(o));
        if !own {
            return plain(
                StatusCode::FORBIDDEN,
                "cross-origin requests are not allowed",
            );
        }
    }
    next.run(req).await
}

/// Agent and desktop APIs: `Authorization: Bearer <token>`, compared in constant time.
pub async fn require_token(
    State(token): State<Arc<TokenFile>>,
    req: Request,
    next: Next,
) -> Response {
    if token_ok(&token, req.headers()) {
        return next.run(req).await;
    }
    let mut response = plain(
        StatusCode::UNAUTHORIZED,
        "missing or wrong bearer token (see `office-bridge token show`)",
    );
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

pub fn token_ok(token: &TokenFile, headers: &HeaderMap) -> bool {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    token.current().matches_bearer(presented)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities_and_origins() {
        let o = Origins::new(29443);
        for ok in [
            "localhost:29443",
            "LOCALHOST:29443",
            "127.0.0.1:29443",
            "[::1]:29443",
        ] {
            assert!(o.is_own_authority(ok), "{ok}");
        }
        for bad in [
            "localhost",
            "localhost:80",
            "evil.com:29443",
            "127.0.0.2:29443",
            "localhost.evil.com:29443",
            "[::1]",
            "",
            "localhost:29443:29443",
        ] {
            assert!(!o.is_own_authority(bad), "{bad}");
        }
        assert!(o.is_own_origin("https://localhost:29443"));
        for bad in [
            "http://localhost:29443",
            "https://localhost:29443/",
            "https://localhost:1",
            "null",
            "https://evil.com",
        ] {
            assert!(!o.is_own_origin(bad), "{bad}");
        }
    }
}
