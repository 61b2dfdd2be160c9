// A small DOM stand-in for node tests of pane UI code (no jsdom in this repo): elements, text
// nodes, attributes, classList, hidden/disabled, click listeners, focus. Enough for ui.js `h`,
// addins/shared/approvals.js, shared/flows.js and excel/marks.js; install() puts `document`
// and `Node` on globalThis.

export class Node {
  constructor() {
    this.parentNode = null;
    this.childNodes = [];
  }
  get textContent() {
    return this.childNodes.map((c) => c.textContent).join("");
  }
  set textContent(v) {
    for (const c of this.childNodes) c.parentNode = null;
    this.childNodes = [];
    if (v !== "" && v !== null && v !== undefined) this.append(new Text(String(v)));
  }
  append(...nodes) {
    for (const n of nodes) this.#insert(n instanceof Node ? n : new Text(String(n)), this.childNodes.length);
  }
  replaceChildren(...nodes) {
    for (const c of this.childNodes) c.parentNode = null;
    this.childNodes = [];
    this.append(...nodes);
  }
  prepend(...nodes) {
    nodes.forEach((n, i) => this.#insert(n instanceof Node ? n : new Text(String(n)), i));
  }
  insertBefore(n, ref) {
    if (!ref) return this.append(n);
    n.remove();
    this.#insert(n, this.childNodes.indexOf(ref));
    return n;
  }
  #insert(n, at) {
    n.remove();
    n.parentNode = this;
    this.childNodes.splice(at, 0, n);
  }
  remove() {
    if (!this.parentNode) return;
    const siblings = this.parentNode.childNodes;
    siblings.splice(siblings.indexOf(this), 1);
    this.parentNode = null;
  }
  contains(n) {
    for (let x = n; x; x = x.parentNode) if (x === this) return true;
    return false;
  }
}

export class Text extends Node {
  constructor(data) {
    super();
    this.data = data;
  }
  get textContent() {
    return this.data;
  }
  set textContent(v) {
    this.data = String(v);
  }
}

export class Element extends Node {
  constructor(tag, doc) {
    super();
    this.tagName = tag.toUpperCase();
    this.ownerDocument = doc;
    this.attributes = new Map();
    this.listeners = new Map();
    const el = this;
    this.classList = {
      contains: (c) => el.className.split(/\s+/).includes(c),
      add: (c) => !this.classList.contains(c) && (el.className = `${el.className} ${c}`.trim()),
      remove: (c) => (el.className = el.className.split(/\s+/).filter((x) => x && x !== c).join(" ")),
      toggle: (c, force = !el.classList.contains(c)) => (force ? el.classList.add(c) : el.classList.remove(c), force),
    };
  }
  get children() {
    return this.childNodes.filter((c) => c instanceof Element);
  }
  get lastElementChild() {
    return this.children.at(-1) ?? null;
  }
  get className() {
    return this.attributes.get("class") ?? "";
  }
  set className(v) {
    this.attributes.set("class", String(v));
  }
  get id() {
    return this.attributes.get("id") ?? "";
  }
  set id(v) {
    this.attributes.set("id", String(v));
  }
  setAttribute(k, v) {
    this.attributes.set(k, String(v));
  }
  getAttribute(k) {
    return this.attributes.has(k) ? this.attributes.get(k) : null;
  }
  hasAttribute(k) {
    return this.attributes.has(k);
  }
  removeAttribute(k) {
    this.attributes.delete(k);
  }
  #flag(k, v) {
    if (v) this.attributes.set(k, "");
    else this.attributes.delete(k);
  }
  get hidden() {
    return this.attributes.has("hidden");
  }
  set hidden(v) {
    this.#flag("hidden", v);
  }
  get disabled() {
    return this.attributes.has("disabled");
  }
  set disabled(v) {
    this.#flag("disabled", v);
  }
  addEventListener(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(fn);
  }
  dispatchEvent(ev) {
    for (const fn of this.listeners.get(ev.type) ?? []) fn.call(this, ev);
    return true;
  }
  /** As a browser does: a disabled button does not fire click. */
  click() {
    if (this.disabled) return;
    this.dispatchEvent({ type: "click", target: this });
  }
  focus() {
    this.ownerDocument.activeElement = this;
  }
  blur() {
    if (this.ownerDocument.activeElement === this) this.ownerDocument.activeElement = this.ownerDocument.body;
  }
  get isConnected() {
    let x = this;
    while (x.parentNode) x = x.parentNode;
    return x === this.ownerDocument?.body;
  }
  /** Depth-first descendants matching a predicate. */
  findAll(pred) {
    const out = [];
    const walk = (n) => {
      for (const c of n.children) {
        if (pred(c)) out.push(c);
        walk(c);
      }
    };
    walk(this);
    return out;
  }
  /** Only what the tests need: "tag", ".class", "[attr]", "tag.class". */
  querySelectorAll(sel) {
    const m = /^([a-z0-9]*)(?:\.([\w-]+))?(?:\[([\w-]+)\])?$/i.exec(sel.trim());
    if (!m) throw new Error(`mini-dom: unsupported selector ${sel}`);
    const [, tag, cls, attr] = m;
    return this.findAll((e) => (!tag || e.tagName === tag.toUpperCase()) && (!cls || e.classList.contains(cls)) && (!attr || e.hasAttribute(attr)));
  }
  querySelector(sel) {
    return this.querySelectorAll(sel)[0] ?? null;
  }
}

export class Document {
  constructor() {
    this.body = new Element("body", this);
    this.activeElement = this.body;
  }
  createElement(tag) {
    return new Element(tag, this);
  }
  createTextNode(data) {
    return new Text(String(data));
  }
  getElementById(id) {
    return this.body.findAll((e) => e.id === id)[0] ?? null;
  }
}

/** Installs a fresh document (and Node) on globalThis; returns the document. */
export function install() {
  const doc = new Document();
  globalThis.document = doc;
  globalThis.Node = Node;
  return doc;
}
