//! The person's standing choices and marks: saving them (with their audit record), marking
//! a range, and loading them at start.

use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;

use super::audit_log::append_in;
use super::{Result, Store, StoreError, exec, sql_err, upsert_document};
use crate::audit::{AuditRecord, kinds};
use crate::model::{CellRange, DocumentRef, UnixMillis};
use crate::policy::UserChoices;

impl Store {
    /// Saves the person's standing choices and marks, with an audit record (the bridge
    /// saves them inside the transaction that changes them; this is for the tests).
    #[cfg(test)]
    pub(crate) fn save_choices(
        &mut self,
        choices: &UserChoices,
        at: UnixMillis,
    ) -> Result<AuditRecord> {
        let path = self.path.display().to_string();
        let tx = self.begin("save choices")?;
        let rec = write_choices_in(&tx, &path, choices, at)?;
        tx.commit().map_err(|source| StoreError::Sqlite {
            path,
            what: "cannot commit choices".into(),
            source,
        })?;
        self.group.committed();
        Ok(rec)
    }

    /// The person marked (or unmarked) a range: saves the updated choices and appends a
    /// `label_set` record naming the range, in one transaction. `choices` is the state
    /// after the change.
    #[allow(clippy::too_many_arguments)]
    pub fn record_label_set(
        &mut self,
        choices: &UserChoices,
        document: &DocumentRef,
        sheet: &str,
        range: CellRange,
        sensitivity: crate::model::Sensitivity,
        by: &str,
        at: UnixMillis,
    ) -> Result<AuditRecord> {
        let path = self.path.display().to_string();
        let e = |what: &str| sql_err(&path, what);
        let body_text = serde_json::to_string(choices).map_err(|err| StoreError::Corrupt {
            path: path.clone(),
            what: format!("cannot encode choices: {err}"),
        })?;
        let level = match sensitivity {
            crate::model::Sensitivity::Normal => "normal",
            crate::model::Sensitivity::Confidential => "confidential",
        };
        let tx = self.begin("label set")?;
        upsert_document(&tx, document, at).map_err(e("cannot record the document"))?;
        exec(
            &tx,
            "INSERT INTO user_choices (id, body, at) VALUES (1, ?1, ?2)
             ON CONFLICT(id) DO UPDATE SET body = excluded.body, at = excluded.at",
            params![body_text, at],
        )
        .map_err(e("cannot save choices"))?;
        let body = json!({
            "document": document.name,
            "document_id": document.id.0,
            "sheet": sheet,
            "cells": range.to_string(),
            "sensitivity": level,
            "decided_by": by,
        });
        let rec = append_in(&tx, &path, at, kinds::LABEL_SET, &body)?;
        tx.commit().map_err(e("cannot commit the label"))?;
        self.group.committed();
        Ok(rec)
    }

    /// The saved choices, or empty ones if none were saved.
    pub fn load_choices(&self) -> Result<UserChoices> {
        let body: Option<String> = self
            .conn
            .query_row("SELECT body FROM user_choices WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.err("cannot load choices"))?;
        match body {
            None => Ok(UserChoices::default()),
            Some(b) => serde_json::from_str(&b)
                .map_err(|err| self.corrupt(format!("saved choices are unreadable: {err}"))),
        }
    }
}

/// Saves the person's standing choices and marks inside `tx`, with their audit record.
pub(super) fn write_choices_in(
    tx: &Transaction<'_>,
    path: &str,
    choices: &UserChoices,
    at: UnixMillis,
) -> Result<AuditRecord> {
    let encode_error = |err: serde_json::Error| StoreError::Corrupt {
        path: path.to_string(),
        what: format!("cannot encode choices: {err}"),
    };
    let body_text = serde_json::to_string(choices).map_err(encode_error)?;
    let audit_body = serde_json::to_value(choices).map_err(encode_error)?;
    exec(
        tx,
        "INSERT INTO user_choices (id, body, at) VALUES (1, ?1, ?2)
         ON CONFLICT(id) DO UPDATE SET body = excluded.body, at = excluded.at",
        params![body_text, at],
    )
    .map_err(sql_err(path, "cannot save choices"))?;
    append_in(tx, path, at, kinds::CHOICES, &audit_body)
}
