//! The task-pane assets from `addins/`, embedded in the binary so one file ships the whole
//! product, served with exact content types and a Content-Security-Policy that allows
//! Office.js from Microsoft's CDN and nothing else from outside.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use include_dir::{Dir, include_dir};
use tower_http::set_header::SetResponseHeaderLayer;

use super::guard::Origins;

static ADDINS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../addins");

/// Microsoft's CDN for Office.js; the store policy requires loading it from there.
pub const OFFICE_JS_ORIGIN: &str = "https://appsforoffice.microsoft.com";

/// Office on the web hosts task panes in an iframe under these sites.
const OFFICE_FRAME_ANCESTORS: &str = "https://*.officeapps.live.com https://*.office.com \
    https://*.office365.com https://*.sharepoint.com https://*.microsoft365.com https://*.cloud.microsoft";

pub fn content_security_policy(origins: &Origins) -> String {
    format!(
        "default-src 'self'; script-src 'self' {OFFICE_JS_ORIGIN}; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; \
         connect-src 'self' {ws} {OFFICE_JS_ORIGIN}; frame-src 'self'; \
         frame-ancestors 'self' {OFFICE_FRAME_ANCESTORS}; base-uri 'self'; form-action 'self'; \
         object-src 'none'",
        ws = origins.websocket_sources()
    )
}

pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" | "md" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Maps a URL path to an embedded file: `/` and `/dir/` to their `index.html`.
fn lookup(path: &str) -> Option<(&'static str, &'static [u8])> {
    let rel = path.trim_start_matches('/');
    if rel.split('/').any(|seg| seg == ".." || seg == ".") || rel.contains('\\') {
        return None;
    }
    let rel = if rel.is_empty() || rel.ends_with('/') {
        format!("{rel}index.html")
    } else {
        rel.to_string()
    };
    let file = ADDINS.get_file(&rel)?;
    Some((file.path().to_str()?, file.contents()))
}

/// `/monitor` and `/playground` name folders: their pages are at `/monitor/` and
/// `/playground/` (relative links resolve against the slash). The answer is the redirect's
/// path, query kept; a browser keeps the `#fragment` (the monitor's token) across it.
fn folder_redirect(uri: &Uri) -> Option<String> {
    let path = uri.path();
    // "//monitor" would be a protocol-relative Location: another host.
    if path.ends_with('/') || path.starts_with("//") {
        return None;
    }
    lookup(&format!("{path}/"))?;
    Some(match uri.query() {
        Some(q) => format!("{path}/?{q}"),
        None => format!("{path}/"),
    })
}

/// What the asset routes need: the origins (for the CSP) and whether the playground is on.
#[derive(Clone)]
pub struct Assets {
    pub origins: Arc<Origins>,
    pub playground: bool,
}

/// The page served at `/playground/` when the bridge was started without `--playground`.
const PLAYGROUND_OFF_PAGE: &str = "playground/off.html";

/// Without `--playground`, `/playground/` explains how to turn it on and the rest of the
/// folder is not served; the stand-in stays served so a pane opened with `?standin=1`
/// loads and can show the bridge's refusal in words.
fn playground_path(path: &str, playground: bool) -> Option<&str> {
    if playground || !path.starts_with("/playground/") {
        return Some(path);
    }
    match path {
        "/playground/" | "/playground/index.html" => Some(PLAYGROUND_OFF_PAGE),
        "/playground/playground.css" => Some(path),
        _ => None,
    }
}

/// The asset routes, with the headers every answer of theirs carries: the CSP (it names
/// the port), `nosniff`, `no-referrer`, and `no-cache` (panes must pick up a new bridge
/// version at once; the files are tiny and local).
pub fn routes<S: Clone + Send + Sync + 'static>(assets: Assets) -> MethodRouter<S> {
    let csp = HeaderValue::from_str(&content_security_policy(&assets.origins)).ok();
    let fixed = |name, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    let headers = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            move |_: &Response| csp.clone(),
        ))
        .layer(fixed(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(fixed(header::REFERRER_POLICY, "no-referrer"))
        .layer(fixed(header::CACHE_CONTROL, "no-cache"));
    get(serve)
        .with_state(assets)
        .layer::<_, std::convert::Infallible>(headers)
}

async fn serve(State(assets): State<Assets>, uri: Uri) -> Response {
    let Some((path, body)) = playground_path(uri.path(), assets.playground).and_then(lookup) else {
        if let Some(to) = folder_redirect(&uri) {
            return axum::response::Redirect::permanent(&to).into_response();
        }
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(path)),
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_and_traversal() {
        assert!(lookup("/").is_some(), "addins/index.html must be embedded");
        assert!(lookup("/../Cargo.toml").is_none());
        assert!(lookup("/./index.html").is_none());
        assert!(lookup("/nope.js").is_none());
    }

    #[test]
    fn folders_without_their_slash_redirect() {
        let to = |p: &str| folder_redirect(&p.parse::<Uri>().unwrap());
        assert_eq!(to("/monitor").as_deref(), Some("/monitor/"));
        assert_eq!(to("/playground?x=1").as_deref(), Some("/playground/?x=1"));
        assert_eq!(to("/monitor/"), None);
        assert_eq!(to("/nope"), None);
        assert_eq!(to("//monitor"), None, "never a protocol-relative Location");
        assert_eq!(to("/shared/ui.js"), None);
        assert!(
            lookup("/monitor/").is_some(),
            "addins/monitor/index.html is embedded"
        );
    }

    #[test]
    fn the_playground_is_served_only_when_on() {
        let served = |p: &str, on: bool| playground_path(p, on).and_then(lookup).map(|(f, _)| f);
        assert_eq!(served("/playground/", true), Some("playground/index.html"));
        assert_eq!(served("/playground/", false), Some("playground/off.html"));
        assert_eq!(
            served("/playground/index.html", false),
            Some("playground/off.html")
        );
        assert_eq!(served("/playground/playground.js", false), None);
        assert_eq!(
            served("/playground/playground.js", true),
            Some("playground/playground.js")
        );
        // The panes and the stand-in stay: a pane opened with ?standin=1 says why it is refused.
        assert_eq!(
            served("/standin/office-standin.js", false),
            Some("standin/office-standin.js")
        );
        assert_eq!(
            served("/excel/taskpane.html", false),
            Some("excel/taskpane.html")
        );
    }

    #[test]
    fn csp_allows_office_js_and_own_websocket_only() {
        let csp = content_security_policy(&Origins::new(29443));
        assert!(csp.contains("script-src 'self' https://appsforoffice.microsoft.com;"));
        assert!(csp.contains("wss://localhost:29443"));
        assert!(csp.contains("object-src 'none'"));
        assert!(!csp.contains("unsafe-eval"));
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("a/b.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("x.SVG"), "image/svg+xml");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }
}
