// Shows whether the bridge answers, so a person who opens the URL sees it is alive.
const el = document.getElementById("health");
try {
  const res = await fetch("/healthz", { cache: "no-store" });
  const body = await res.json();
  el.textContent = `running (version ${body.version}, ${body.panes_connected} pane(s) connected)`;
} catch (e) {
  el.textContent = `not answering (${e.message})`;
}
