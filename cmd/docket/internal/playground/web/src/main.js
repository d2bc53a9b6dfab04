// The playground page: three editors (schema, tuples, assertions) that
// together are a validation file, live diagnostics, validate, and graphs
// of explanations and userset trees. Everything is computed by the docket
// process that serves the page (the /api/ endpoints).
import { EditorView, basicSetup } from "codemirror";
import { EditorState } from "@codemirror/state";
import { setDiagnostics, lintGutter } from "@codemirror/lint";
import { yaml } from "@codemirror/lang-yaml";
import { rebac } from "./rebac.js";
import { drawTree } from "./graph.js";

const $ = (id) => document.getElementById(id);
let fileName = "playground.yaml";

async function api(path, body) {
  const res = await fetch(path, body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const data = await res.json();
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}

function status(text, kind) {
  const s = $("status");
  s.textContent = text;
  s.className = kind || "";
}

let checkTimer = null;
function scheduleCheck() {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(checkNow, 250);
}

function editor(id, lang) {
  return new EditorView({
    parent: $(id),
    state: EditorState.create({
      doc: "",
      extensions: [
        basicSetup,
        lintGutter(),
        lang,
        EditorView.updateListener.of((u) => {
          if (u.docChanged) scheduleCheck();
        }),
      ],
    }),
  });
}

const editors = {
  schema: editor("schema", rebac),
  tuples: editor("tuples", []),
  assertions: editor("assertions", yaml()),
};
window.docketPlayground = { editors };

function panes() {
  return {
    name: fileName,
    schema: editors.schema.state.doc.toString(),
    tuples: editors.tuples.state.doc.toString(),
    assertions: editors.assertions.state.doc.toString(),
  };
}

function setPanes(p) {
  fileName = p.name || "playground.yaml";
  // Results and drawings were about the panes being replaced.
  $("results").replaceChildren();
  showText("", "");
  for (const k of ["schema", "tuples", "assertions"]) {
    const v = editors[k];
    v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: p[k] || "" } });
  }
  checkNow();
}

// offset converts a line (1-based) and column (1-based characters, or a
// protocol character when utf16 is set) to a document offset.
function offset(doc, line, col) {
  const l = doc.line(Math.min(Math.max(line, 1), doc.lines));
  return Math.min(l.from + Math.max(col - 1, 0), l.to);
}

function mark(pane, diags) {
  const v = editors[pane];
  v.dispatch(setDiagnostics(v.state, diags));
}

// problemDiagnostics turns problems placed in panes into diagnostics.
function problemDiagnostics(problems, pane) {
  const out = [];
  for (const p of problems || []) {
    if (p.pane !== pane) continue;
    const doc = editors[pane].state.doc;
    const from = offset(doc, p.line, p.column || 1);
    const to = p.column ? Math.min(from + 1, doc.line(Math.min(p.line, doc.lines)).to) : doc.line(Math.min(Math.max(p.line, 1), doc.lines)).to;
    out.push({ from, to: Math.max(to, from), severity: "error", message: p.message });
  }
  return out;
}

let checkSeq = 0;
async function checkNow() {
  const seq = ++checkSeq;
  const p = panes();
  try {
    const res = await api("/api/check", p);
    if (seq !== checkSeq) return; // a newer edit is being checked
    const doc = editors.schema.state.doc;
    const diags = res.diagnostics.map((d) => {
      const line = doc.line(Math.min(d.range.start.line + 1, doc.lines));
      const from = Math.min(line.from + d.range.start.character, line.to);
      const endLine = doc.line(Math.min(d.range.end.line + 1, doc.lines));
      const to = Math.min(endLine.from + d.range.end.character, endLine.to);
      return { from, to: Math.max(to, from), severity: d.severity, message: d.message };
    });
    mark("schema", diags);
    mark("tuples", problemDiagnostics(res.problems, "tuples"));
    const errors = diags.filter((d) => d.severity === "error").length + (res.problems || []).length;
    if (errors > 0) status(`${errors} error${errors === 1 ? "" : "s"}`, "bad");
    else status(diags.length ? `${diags.length} warning${diags.length === 1 ? "" : "s"}` : "schema ok", "ok");
  } catch (e) {
    status(e.message, "bad");
  }
}

function li(text, cls, onClick) {
  const el = document.createElement("li");
  el.textContent = text;
  el.className = cls;
  if (onClick) el.addEventListener("click", () => {
    for (const s of document.querySelectorAll("#results li.selected")) s.classList.remove("selected");
    el.classList.add("selected");
    onClick();
  });
  return el;
}

async function runValidate() {
  const list = $("results");
  list.replaceChildren();
  status("validating…");
  try {
    const res = await api("/api/validate", panes());
    mark("assertions", problemDiagnostics(res.problems, "assertions"));
    mark("tuples", problemDiagnostics(res.problems, "tuples"));
    if (res.problems) {
      for (const p of res.problems) list.append(li(`${p.pane}:${p.line}: ${p.message}`, "problem"));
      status(`${res.problems.length} error${res.problems.length === 1 ? "" : "s"}`, "bad");
      return;
    }
    list.append(li(`${res.passed} passed, ${res.failed} failed`, "summary"));
    const failedLines = new Set(res.failures.map((f) => f.line));
    for (const f of res.failures) {
      const q = f.assertion.replace(/^(allowed|denied): /, "");
      list.append(li(`${f.assertion}: expected ${f.expected}, got ${f.got}`, "fail",
        () => (/^\S+#\S+@\S+$/.test(q) ? explain(q) : showText(f.assertion, f.explanation))));
    }
    for (const a of res.assertions || []) {
      if (failedLines.has(a.line)) continue;
      list.append(li(`${a.kind}: ${a.query}`, "pass", () => explain(a.query)));
    }
    status(`${res.passed} passed, ${res.failed} failed`, res.failed ? "bad" : "ok");
  } catch (e) {
    status(e.message, "bad");
  }
}

function showText(title, text, cls) {
  $("graph-title").textContent = title;
  $("graph-title").className = cls || "";
  $("graph").replaceChildren();
  $("graph-text").textContent = text || "";
}

// showGraph puts a drawing in place and scrolls its root into view.
function showGraph(svg) {
  $("graph").replaceChildren(svg);
  const root = svg.querySelector("g.node rect");
  const box = $("graph-scroll");
  if (root) box.scrollTop = Math.max(0, Number(root.getAttribute("y")) - box.clientHeight / 3);
}

function showError(e) {
  $("graph-title").textContent = e.message;
  $("graph-title").className = "error-text";
  $("graph").replaceChildren();
  $("graph-text").textContent = "";
}

// Explanations become trees: a granting path is a chain from the query to
// the tuple that grants it (an intersection branches), a denial the tree
// of failed branches.
function pathTree(steps) {
  if (!steps || steps.length === 0) return null;
  const [first, ...rest] = steps;
  const node = { label: first.kind === "all_of" ? "all of " + first.text : first.kind === "exclusion" ? "unless " + first.text : first.text, kind: first.kind, children: [] };
  if (first.kind === "all_of") {
    for (const b of first.branches || []) {
      const t = pathTree(b);
      if (t) node.children.push(t);
    }
  }
  const next = pathTree(rest);
  if (next) node.children.push(next);
  return node;
}

function denialTree(d) {
  const node = { label: `${d.node}: ${d.reason}`, kind: "denied", children: [] };
  const ex = pathTree(d.excluded);
  if (ex) node.children.push(ex);
  for (const b of d.branches || []) node.children.push(denialTree(b));
  return node;
}

async function explain(query) {
  $("explain-query").value = query;
  try {
    const res = await api("/api/explain", { ...panes(), query });
    if (res.problems) return showError(new Error(res.problems.map((p) => `${p.pane}:${p.line}: ${p.message}`).join("\n")));
    const e = res.explanation;
    const tree = e.allowed ? { label: e.query, kind: "query", children: [pathTree(e.path)].filter(Boolean) }
      : e.denial ? denialTree(e.denial) : { label: e.query, kind: "denied", children: [] };
    showText(`${query}: ${e.allowed ? "allowed" : "denied"}`, res.text, e.allowed ? "allowed" : "denied");
    showGraph(drawTree(tree));
  } catch (err) {
    showError(err);
  }
}

function expandTree(n) {
  let label = n.label || "";
  if (n.kind === "leaf" || n.kind === "cycle") {
    label = `${subjectText(n.subject)}  [${n.label}]` + (n.kind === "cycle" ? " (cycle)" : n.truncated ? " (depth bound)" : "");
  } else {
    label = `${n.kind} ${label}`;
  }
  return { label, kind: n.kind, children: (n.children || []).map(expandTree) };
}

function subjectText(s) {
  if (!s) return "";
  let t = `${s.type}:${s.id}`;
  if (s.relation) t += "#" + s.relation;
  return t;
}

async function expand(target) {
  try {
    const res = await api("/api/expand", { ...panes(), target, depth: Number($("expand-depth").value) });
    if (res.problems) return showError(new Error(res.problems.map((p) => `${p.pane}:${p.line}: ${p.message}`).join("\n")));
    showText(`expand ${target}`, res.text);
    showGraph(drawTree(expandTree(res.tree)));
  } catch (err) {
    showError(err);
  }
}

// A click on an assertion line in the Assertions pane explains it.
editors.assertions.dom.addEventListener("click", () => {
  const v = editors.assertions;
  const line = v.state.doc.lineAt(v.state.selection.main.head).text;
  const m = line.match(/^\s*-\s*["']?([^\s"'#]+#[^\s@"']+@[^\s"']+)["']?\s*(#.*)?$/);
  if (m) explain(m[1]);
});

$("validate").addEventListener("click", runValidate);
$("explain-form").addEventListener("submit", (e) => {
  e.preventDefault();
  explain($("explain-query").value.trim());
});
$("expand-form").addEventListener("submit", (e) => {
  e.preventDefault();
  expand($("expand-target").value.trim());
});

$("download").addEventListener("click", async () => {
  try {
    const res = await api("/api/compose", panes());
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([res.yaml], { type: "application/yaml" }));
    a.download = fileName.replace(/\.ya?ml$/, "") + ".yaml";
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  } catch (e) {
    status(e.message, "bad");
  }
});

$("load").addEventListener("change", async (e) => {
  const f = e.target.files[0];
  if (!f) return;
  try {
    setPanes(await api("/api/split", { name: f.name, yaml: await f.text() }));
    status(`loaded ${f.name}`, "ok");
  } catch (err) {
    status(err.message, "bad");
  }
  e.target.value = "";
});

$("examples").addEventListener("change", async (e) => {
  try {
    setPanes(await api("/api/example?name=" + encodeURIComponent(e.target.value)));
  } catch (err) {
    status(err.message, "bad");
  }
});

async function init() {
  const [initial, ex] = await Promise.all([api("/api/initial"), api("/api/examples")]);
  const sel = $("examples");
  for (const name of ex.examples) {
    const o = document.createElement("option");
    o.value = o.textContent = name;
    sel.append(o);
  }
  sel.value = ex.examples.includes(initial.name) ? initial.name : "";
  if (!ex.examples.includes(initial.name)) {
    const o = document.createElement("option");
    o.value = "";
    o.textContent = initial.name;
    sel.prepend(o);
    sel.value = "";
  }
  setPanes(initial);
  document.body.dataset.ready = "true";
}
init().catch((e) => status(e.message, "bad"));
