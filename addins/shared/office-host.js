// Picks the Office.js to run on. The pages always carry Microsoft's <script> tag for Office.js
// (the store policy requires it). With ?standin=1 in the page URL (the playground sets it) the
// in-browser stand-in (addins/standin/office-standin.js, served by the bridge, so 'self' under
// the CSP) is loaded on top and replaces the Office, Excel and PowerPoint globals; browser
// tests may instead route the CDN URL to the stand-in file itself.

export function wantsStandin(loc = globalThis.location) {
  try {
    return new URLSearchParams(loc.search).get("standin") === "1";
  } catch {
    return false;
  }
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(s);
  });
}

/** Resolves with {Office, host} once Office is ready; rejects with words a person can act on. */
export async function loadOffice(expectedHost) {
  if (wantsStandin() && !globalThis.OfficeStandin) {
    await loadScript(new URL("../standin/office-standin.js", import.meta.url).href);
  }
  const Office = globalThis.Office;
  if (!Office || typeof Office.onReady !== "function") {
    throw new Error(
      "Office.js could not be loaded from appsforoffice.microsoft.com. Check this computer's internet connection, then close and reopen the pane.",
    );
  }
  const info = await Promise.race([
    Office.onReady(),
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error("Office did not start the add-in within 20 seconds. Close and reopen the pane.")), 20000),
    ),
  ]);
  const host = info?.host ?? null;
  if (!host) {
    throw new Error(
      `This page is a ${expectedHost} task pane: open it from ${expectedHost} (Home > Add-ins > office-bridge), or try the playground at /playground/ to run it without Office.`,
    );
  }
  if (String(host).toLowerCase() !== expectedHost.toLowerCase()) {
    throw new Error(`This is the ${expectedHost} pane, but it was opened in ${host}.`);
  }
  return { Office, host };
}
