//! Request guards: the Host check (DNS-rebinding defence) on every route, the Origin check
//! on every browser-reachable route, and the bearer credentials on the agent and desktop
//! APIs: the agent's token for `/mcp`, either credential for the desktop API's reads, and
//! only the desktop credential for answering approvals (see [`Accepts`]).

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

/// The bridge's two bearer credentials, re-read when their files change.
#[derive(Clone)]
pub struct Credentials {
    /// The agent's token (`<data dir>/token`), in its MCP client's configuration.
    pub agent: Arc<TokenFile>,
    /// The desktop credential (`<data dir>/desktop-token`): the monitor page,
    /// `office-bridge notify` and `office-bridge approvals`. Never given to an agent.
    pub desktop: Arc<TokenFile>,
}

/// Whose credential a request presents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presented {
    Agent,
    Desktop,
    /// No `Authorization: Bearer`, or a value that is neither credential.
    Nothing,
}

impl Credentials {
    /// Both comparisons always run (constant time each), so timing does not tell which
    /// credential was nearly right. A value equal to both (only if someone copied one file
    /// over the other) counts as the agent's, the lesser.
    pub fn classify(&self, headers: &HeaderMap) -> Presented {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok());
        let agent = self.agent.current().matches_bearer(presented);
        let desktop = self.desktop.current().matches_bearer(presented);
        match (agent, desktop) {
            (true, _) => Presented::Agent,
            (false, true) => Presented::Desktop,
            (false, false) => Presented::Nothing,
        }
    }
}

/// Which credentials a group of routes takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepts {
    /// `/mcp`: the agent's token only. The desktop credential is refused there (401), so it
    /// is useless in an agent's configuration and nobody is tempted to put it there.
    Agent,
    /// The desktop API's reads (events, approvals pending, flows, status, policy).
    Either,
    /// Answering approvals, and anything that changes the person's standing choices: the
    /// desktop credential only, so an agent can never approve its own writes.
    Desktop,
}

/// The guard of every token route: lets the request through when it presents a
/// credential `accepts` takes; the agent's token on a desktop-only route is 403 (it is
/// known, just not allowed, and the agent should learn where a person answers); anything
/// else is 401.
pub async fn require_credential(
    State((credentials, accepts)): State<(Credentials, Accepts)>,
    req: Request,
    next: Next,
) -> Response {
    match (credentials.classify(req.headers()), accepts) {
        (Presented::Agent, Accepts::Agent | Accepts::Either)
        | (Presented::Desktop, Accepts::Desktop | Accepts::Either) => next.run(req).await,
        (Presented::Agent, Accepts::Desktop) => {
            tracing::warn!(
                method = %req.method(),
                path = req.uri().path(),
                "refused the agent's token on a route only a person may use"
            );
            agent_may_not_answer()
        }
        (Presented::Desktop, Accepts::Agent) | (Presented::Nothing, _) => unauthorized(accepts),
    }
}

/// The 403 for the agent's token on a desktop-only route, in JSON like the rest of the
/// approvals API.
fn agent_may_not_answer() -> Response {
    (
        StatusCode::FORBIDDEN,
        axum::Json(serde_json::json!({
            "error": AGENT_MAY_NOT_ANSWER,
        })),
    )
        .into_response()
}

/// What the agent (and its person) is told when the agent's token tries to answer.
const AGENT_MAY_NOT_ANSWER: &str = "the agent's token cannot answer approvals or change the person's choices; \
    a person answers in the document's pane, on the monitor page (`office-bridge monitor`), \
    or with `office-bridge approvals allow|deny ID`";

fn unauthorized(accepts: Accepts) -> Response {
    let message = match accepts {
        Accepts::Agent => "missing or wrong bearer token (see `office-bridge token show`)",
        Accepts::Either => {
            "missing or wrong bearer token (agents: `office-bridge token show`; desktop tools: `office-bridge token show --desktop`)"
        }
        Accepts::Desktop => {
            "missing or wrong desktop token (see `office-bridge token show --desktop`; the monitor page gets it from `office-bridge monitor`)"
        }
    };
    let mut response = plain(StatusCode::UNAUTHORIZED, message);
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_presented_bearer() {
        let dir = tempfile::tempdir().unwrap();
        let credentials = Credentials {
            agent: Arc::new(TokenFile::open(&dir.path().join("token")).unwrap()),
            desktop: Arc::new(TokenFile::open(&dir.path().join("desktop-token")).unwrap()),
        };
        let agent = credentials.agent.current().expose().to_string();
        let desktop = credentials.desktop.current().expose().to_string();
        assert_ne!(agent, desktop);
        let presenting = |value: Option<String>| {
            let mut headers = HeaderMap::new();
            if let Some(v) = value {
                headers.insert(header::AUTHORIZATION, v.parse().unwrap());
            }
            credentials.classify(&headers)
        };
        assert_eq!(
            presenting(Some(format!("Bearer {agent}"))),
            Presented::Agent
        );
        assert_eq!(
            presenting(Some(format!("Bearer {desktop}"))),
            Presented::Desktop
        );
        for nothing in [
            None,
            Some("Bearer ".to_string()),
            Some(desktop.clone()),
            Some(format!("Basic {desktop}")),
            Some(format!("Bearer {desktop}0")),
            Some(format!("Bearer {}", &desktop[1..])),
            Some(format!("Bearer {agent}{desktop}")),
        ] {
            assert_eq!(
                presenting(nothing.clone()),
                Presented::Nothing,
                "{nothing:?}"
            );
        }
        // Someone copied one file over the other: the value counts as the agent's.
        std::fs::copy(dir.path().join("token"), dir.path().join("desktop-token")).unwrap();
        let same = Credentials {
            agent: credentials.agent.clone(),
            desktop: Arc::new(TokenFile::open(&dir.path().join("desktop-token")).unwrap()),
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            format!("Bearer {agent}").parse().unwrap(),
        );
        assert_eq!(same.classify(&headers), Presented::Agent);
    }

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
