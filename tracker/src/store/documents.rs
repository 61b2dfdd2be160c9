//! State the store keeps about documents and the administrator's policy beyond reads and
//! writes: what is known of each document's sensitivity label, and the policy last put in
//! force. Both must survive a restart: a label is learned when a pane registers or a file
//! is read, and a restart must not make a labelled document's data look unlabelled.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};
use serde_json::json;

use super::audit_log::append_in;
use super::{Result, Store, StoreError, exec, sql_err};
use crate::audit::kinds;
use crate::model::{DocumentId, DocumentLabel, DocumentRef, UnixMillis};
use crate::policy::AdminPolicy;

impl Store {
    /// Records what was learned of a document's label (and where from: `pane`, `file`),
    /// with an audit record when it changed. Returns whether it changed.
    pub fn save_document_label(
        &mut self,
        document: &DocumentRef,
        label: &DocumentLabel,
        source: &str,
        at: UnixMillis,
    ) -> Result<bool> {
        let path = self.path.display().to_string();
        let e = |what: &str| sql_err(&path, what);
        let body = serde_json::to_string(label).map_err(|err| StoreError::Corrupt {
            path: path.clone(),
            what: format!("cannot encode a label: {err}"),
        })?;
        let tx = self.begin("save document label")?;
        let before: Option<String> = tx
            .query_row(
                "SELECT body FROM document_labels WHERE document = ?1",
                [&document.id.0],
                |r| r.get(0),
            )
            .optional()
            .map_err(e("cannot read the document's label"))?;
        if before.as_deref() == Some(body.as_str()) {
            return Ok(false);
        }
        super::upsert_document(&tx, document, at).map_err(e("cannot record the document"))?;
        exec(
            &tx,
            "INSERT INTO document_labels (document, body, source, at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(document) DO UPDATE SET body = excluded.body, source = excluded.source, at = excluded.at",
            params![document.id.0, body, source, at],
        )
        .map_err(e("cannot save the document's label"))?;
        let audit = json!({
            "document": document.name,
            "document_id": document.id.0,
            "label": label,
            "source": source,
        });
        append_in(&tx, &path, at, kinds::SENSITIVITY_LABEL, &audit)?;
        tx.commit().map_err(e("cannot commit the label"))?;
        self.group.committed();
        Ok(true)
    }

    /// Every document's label as last learned.
    pub fn document_labels(&self) -> Result<HashMap<DocumentId, DocumentLabel>> {
        let mut stmt = self
            .conn
            .prepare("SELECT document, body FROM document_labels")
            .map_err(self.err("cannot query document labels"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(self.err("cannot query document labels"))?;
        let mut out = HashMap::new();
        for row in rows {
            let (id, body) = row.map_err(self.err("cannot read a document label"))?;
            let label: DocumentLabel = serde_json::from_str(&body).map_err(|err| {
                self.corrupt(format!("the label of document {id} is unreadable: {err}"))
            })?;
            out.insert(DocumentId(id), label);
        }
        Ok(out)
    }

    /// Puts a policy in force: saved as the last good one, with its audit record (`path`
    /// names the file it came from), unless it is the one already saved.
    pub fn save_admin_policy(
        &mut self,
        policy: &AdminPolicy,
        path: &str,
        at: UnixMillis,
    ) -> Result<bool> {
        let store_path = self.path.display().to_string();
        let e = |what: &str| sql_err(&store_path, what);
        let body = serde_json::to_string(policy).map_err(|err| StoreError::Corrupt {
            path: store_path.clone(),
            what: format!("cannot encode the policy: {err}"),
        })?;
        let tx = self.begin("save policy")?;
        let before: Option<String> = tx
            .query_row("SELECT body FROM admin_policy WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(e("cannot read the saved policy"))?;
        if before.as_deref() == Some(body.as_str()) {
            return Ok(false);
        }
        exec(
            &tx,
            "INSERT INTO admin_policy (id, body, at) VALUES (1, ?1, ?2)
             ON CONFLICT(id) DO UPDATE SET body = excluded.body, at = excluded.at",
            params![body, at],
        )
        .map_err(e("cannot save the policy"))?;
        append_in(
            &tx,
            &store_path,
            at,
            kinds::POLICY,
            &json!({"path": path, "policy": policy}),
        )?;
        tx.commit().map_err(e("cannot commit the policy"))?;
        self.group.committed();
        Ok(true)
    }

    /// The policy last put in force, if any was saved. It must be the one the audit chain's
    /// last `policy` record names: the table alone is not tamper-evident, the chain is, so a
    /// saved policy edited by hand is refused (an error) rather than used as a fallback.
    pub fn load_admin_policy(&self) -> Result<Option<AdminPolicy>> {
        let body: Option<String> = self
            .conn
            .query_row("SELECT body FROM admin_policy WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.err("cannot read the saved policy"))?;
        let Some(body) = body else {
            return Ok(None);
        };
        let saved = AdminPolicy::parse(&body)
            .map_err(|err| self.corrupt(format!("the saved policy is unreadable: {err}")))?;
        let recorded: Option<String> = self
            .conn
            .query_row(
                "SELECT body FROM audit WHERE kind = ?1 ORDER BY seq DESC LIMIT 1",
                [kinds::POLICY],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err("cannot read the last policy record"))?;
        let recorded = recorded
            .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok())
            .and_then(|b| AdminPolicy::parse(&b["policy"].to_string()).ok());
        if recorded.as_ref() != Some(&saved) {
            return Err(self.corrupt(
                "the saved policy is not the one the audit chain last recorded (edited outside office-bridge?)",
            ));
        }
        Ok(Some(saved))
    }
}
