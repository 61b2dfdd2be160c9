// When to suggest labelling a deck: confidential data moved into it (written), and the deck
// has no sensitivity label, or one that does not say it is confidential. Office.js cannot
// apply a label, so the pane says where the person does it. A plain function (tested with
// node --test, tests/addins/suggest.test.js).

import { describeFlow, sensitivityClass } from "../shared/ui.js";
import { phaseOf } from "../shared/flows.js";

/**
 * `label`: the deck's Purview label name, null when it has none, undefined when it could not
 * be read (no suggestion on a guess). `moved`: transfer states into this deck (FlowFeed's).
 * Returns the suggestion's words, or "" when there is nothing to suggest.
 */
export function labelSuggestion({ label, moved }) {
  if (label === undefined) return "";
  if (label && /^sens-(conf|high)$/.test(sensitivityClass(label))) return "";
  const confidential = (moved ?? []).filter((st) => phaseOf(st) === "moved" && String(st.flow?.sensitivity ?? "").toLowerCase() === "confidential");
  if (!confidential.length) return "";
  const latest = describeFlow(confidential.at(-1).flow);
  const more = confidential.length > 1 ? ` (and ${confidential.length - 1} more transfer${confidential.length === 2 ? "" : "s"})` : "";
  const now = label ? `Its label is "${label}", which does not say it is confidential.` : "This deck has no sensitivity label.";
  return `${latest.matched ? `${latest.matched.replace(/ values?$/, (m) => ` confidential${m}`)}` : "Confidential data"} from ${latest.from} moved into ${latest.location || "this deck"}${more}. ${now} Label it in PowerPoint (Home > Sensitivity) so the deck is protected like its source.`;
}
