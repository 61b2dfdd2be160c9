//! `office-bridge approvals`: the desktop's answer path for a person at a terminal, and the
//! commands the approval notifications of `office-bridge notify` print.
//!
//! - `office-bridge approvals` lists what waits (`GET /v1/approvals`);
//! - `office-bridge approvals allow ID [--always]` and `deny ID [--always]` answer one
//!   (`POST /v1/approvals/{id}`; `--always` is the scope `document`: later transfers from
//!   the same source into the same document are no longer held, or, for a denial, blocked).
//!
//! Both present the desktop credential (`<data dir>/desktop-token`), which the agent's
//! token cannot stand in for: the bridge answers the agent's token here with 403.
//! Exit codes: 0 done; 1 no such pending approval (already answered, expired, never
//! issued); 2 any other error.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::client::{choose_port, error_chain, https_client_builder, read_run_file};
use crate::datadir::DataDir;
use crate::token::Token;

/// What `office-bridge approvals` was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// List the pending approvals (as JSON with `json`).
    List { json: bool },
    /// Answer one: allow or deny, once or for the document (`--always`).
    Answer {
        id: String,
        allow: bool,
        always: bool,
    },
}

/// Runs the command; the result is the exit code. `prefix` is how the listing spells the
/// commands that answer ([`approvals_command`]).
pub fn run(data_dir: &DataDir, port: Option<u16>, action: Action, prefix: &str) -> Result<i32> {
    if port == Some(0) {
        bail!("--port 0 is not a port a bridge listens on; give the bridge's port");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let desk = Desk::open(data_dir, port)?;
        match action {
            Action::List { json } => desk.list(json, prefix).await,
            Action::Answer { id, allow, always } => desk.answer(&id, allow, always).await,
        }
    })
}

/// The running bridge as the desktop reaches it: its URL, a client trusting only its CA,
/// and the desktop credential.
struct Desk {
    base: String,
    client: reqwest::Client,
    token: Token,
    token_path: std::path::PathBuf,
}

impl Desk {
    fn open(data_dir: &DataDir, port: Option<u16>) -> Result<Desk> {
        let run_file = read_run_file(&data_dir.run_file());
        let port = choose_port(port, run_file.as_ref());
        let ca_path = data_dir.certs().ca_cert();
        let ca = match std::fs::read_to_string(&ca_path) {
            Ok(ca) => ca,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "no bridge has run with the data directory {} (no CA certificate at {}); start one with `office-bridge serve`",
                data_dir.root().display(),
                ca_path.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("reading {}", ca_path.display())),
        };
        // Only the bridge's CA, never a proxy (a proxy would see the credential).
        let client = https_client_builder(&ca)
            .context("loading the bridge's CA")?
            .timeout(Duration::from_secs(30))
            .build()
            .context("building the HTTPS client")?;
        let token_path = data_dir.desktop_token_file();
        let token = Token::load_or_create(&token_path)?;
        Ok(Desk {
            base: format!("https://localhost:{port}"),
            client,
            token,
            token_path,
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(StatusCode, Value)> {
        let response = request
            .bearer_auth(self.token.expose())
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "no bridge answered at {} ({}); is it running? Start one with `office-bridge serve`",
                    self.base,
                    error_chain(&e)
                )
            })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status == StatusCode::UNAUTHORIZED {
            bail!(
                "the bridge at {} refused the desktop token in {} (HTTP 401); is it using another data directory, or an older version without one?",
                self.base,
                self.token_path.display()
            );
        }
        let body = serde_json::from_str(&text).unwrap_or_else(|_| json!({"error": text.trim()}));
        Ok((status, body))
    }

    async fn list(&self, as_json: bool, prefix: &str) -> Result<i32> {
        let (status, body) = self
            .send(self.client.get(format!("{}/v1/approvals", self.base)))
            .await?;
        if !status.is_success() {
            bail!("the bridge answered HTTP {status}: {}", error_of(&body));
        }
        if as_json {
            println!("{body}");
            return Ok(0);
        }
        let approvals = body["approvals"].as_array().cloned().unwrap_or_default();
        print!(
            "{}",
            pending_text(&approvals, tracker::unix_millis_now(), prefix)
        );
        Ok(0)
    }

    async fn answer(&self, id: &str, allow: bool, always: bool) -> Result<i32> {
        let body = json!({
            "decision": if allow { "allow" } else { "deny" },
            "scope": if always { "document" } else { "once" },
        });
        // The id goes into the path: anything but the characters of an approval id is
        // refused here rather than sent (it could not name one anyway).
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            eprintln!(
                "office-bridge: {id:?} is not an approval id (they look like apr_0123…); `office-bridge approvals` lists the pending ones"
            );
            return Ok(1);
        }
        let (status, answer) = self
            .send(
                self.client
                    .post(format!("{}/v1/approvals/{id}", self.base))
                    .json(&body),
            )
            .await?;
        match status {
            StatusCode::OK => {
                println!("{}", answered_line(id, allow, always));
                Ok(0)
            }
            StatusCode::NOT_FOUND => {
                eprintln!(
                    "office-bridge: nothing to answer: approval {id} was already answered, expired (and was denied), or never existed"
                );
                Ok(1)
            }
            status => bail!("the bridge answered HTTP {status}: {}", error_of(&answer)),
        }
    }
}

fn error_of(body: &Value) -> String {
    body["error"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| body.to_string())
}

/// What `allow`/`deny` prints once the bridge took the answer.
pub fn answered_line(id: &str, allow: bool, always: bool) -> String {
    match (allow, always) {
        (true, false) => format!("Allowed {id} once."),
        (true, true) => {
            format!("Allowed {id}, and from now on for the same source into the same document.")
        }
        (false, false) => format!("Denied {id}."),
        (false, true) => {
            format!("Denied {id}, and from now on for the same source into the same document.")
        }
    }
}

/// The listing: each pending approval with what it holds, the seconds left and the
/// commands that answer it.
pub fn pending_text(approvals: &[Value], now_unix_ms: i64, prefix: &str) -> String {
    if approvals.is_empty() {
        return "Nothing is waiting for your approval.\n".to_string();
    }
    let mut out = String::new();
    for a in approvals {
        let id = a["approval_id"].as_str().unwrap_or("?");
        let line = a["line"].as_str().unwrap_or("(no description)");
        let left = a["expires_at"]
            .as_i64()
            .map(|at| ((at - now_unix_ms).max(0) + 500) / 1000);
        out.push_str(&format!("{id}: {line}"));
        if let Some(seconds) = left {
            out.push_str(&format!(" (denied in {seconds} s without an answer)"));
        }
        out.push('\n');
        out.push_str(&format!(
            "  {}\n  {}\n",
            answer_command(prefix, true, id),
            answer_command(prefix, false, id)
        ));
    }
    out
}

/// `<approvals> allow|deny <id>`: the command that answers, as notifications print it.
/// `approvals` is how to run `office-bridge approvals` against the right bridge
/// ([`approvals_command`]).
pub fn answer_command(approvals: &str, allow: bool, id: &str) -> String {
    format!("{approvals} {} {id}", if allow { "allow" } else { "deny" })
}

/// `office-bridge approvals`, with `--data-dir` and `--port` when the bridge is not the
/// default one, so a printed command answers on the bridge the notification came from.
pub fn approvals_command(data_dir: Option<&Path>, port: Option<u16>) -> String {
    let mut command = "office-bridge".to_string();
    if let Some(dir) = data_dir {
        command.push_str(" --data-dir ");
        command.push_str(&shell_quote(&dir.display().to_string()));
    }
    command.push_str(" approvals");
    if let Some(port) = port {
        command.push_str(&format!(" --port {port}"));
    }
    command
}

/// Quotes a word for the person's shell when it needs it.
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:\\=+,@%".contains(c));
    if plain {
        word.to_string()
    } else if cfg!(windows) {
        format!("\"{}\"", word.replace('"', "\"\""))
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_name_the_bridge_they_answer_on() {
        assert_eq!(approvals_command(None, None), "office-bridge approvals");
        assert_eq!(
            answer_command("office-bridge approvals", true, "apr_1"),
            "office-bridge approvals allow apr_1"
        );
        assert_eq!(
            answer_command("office-bridge approvals", false, "apr_1"),
            "office-bridge approvals deny apr_1"
        );
        assert_eq!(
            approvals_command(Some(Path::new("/tmp/ob-data")), Some(31000)),
            "office-bridge --data-dir /tmp/ob-data approvals --port 31000"
        );
        #[cfg(unix)]
        assert_eq!(
            approvals_command(Some(Path::new("/home/a b/it's")), None),
            r"office-bridge --data-dir '/home/a b/it'\''s' approvals"
        );
    }

    #[test]
    fn the_listing_says_what_waits_and_how_to_answer() {
        assert_eq!(
            pending_text(&[], 0, "office-bridge approvals"),
            "Nothing is waiting for your approval.\n"
        );
        let a = json!({"approval_id": "apr_1", "line": "9 values from Q3.xlsx > Revenue!B2:D4 moved into Board.pptx slide 3", "expires_at": 120_000});
        assert_eq!(
            pending_text(&[a], 1_000, "office-bridge approvals"),
            "apr_1: 9 values from Q3.xlsx > Revenue!B2:D4 moved into Board.pptx slide 3 (denied in 119 s without an answer)\n  office-bridge approvals allow apr_1\n  office-bridge approvals deny apr_1\n"
        );
    }
}
