// Microsoft Purview (MSIP) sensitivity labels, as Office stores them in a document's custom
// properties: MSIP_Label_<guid>_Enabled, _Name, _Method, _SiteId, ... Shared by the Excel and
// PowerPoint operations (excel.getProperties, powerpoint.getProperties) and the panes.

/**
 * Only the Purview label properties leave the document: they say how sensitive it is; other
 * custom properties are the author's business.
 */
export function purviewProperties(items) {
  const out = {};
  for (const it of items ?? []) {
    const key = String(it.key ?? "");
    if (key.startsWith("MSIP_Label_")) out[key] = it.value === null || it.value === undefined ? "" : String(it.value);
  }
  return out;
}

/** The label's display name: MSIP_Label_<guid>_Name, ignoring labels not _Enabled = "false". */
export function purviewLabel(custom) {
  for (const [k, v] of Object.entries(custom ?? {})) {
    const m = /^MSIP_Label_([0-9a-fA-F-]+)_Name$/.exec(k);
    if (!m) continue;
    const enabled = custom[`MSIP_Label_${m[1]}_Enabled`];
    if (enabled !== undefined && String(enabled).toLowerCase() === "false") continue;
    return v;
  }
  return null;
}
