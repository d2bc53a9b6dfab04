// drawTree lays a tree out left to right and draws it as SVG: each node a
// box with its label, each edge an arrow from parent to child. Depths are
// columns as wide as their widest label; leaves take rows top to bottom,
// and a parent sits level with its first child, so the root is at the top
// left and a subtree reads from its first line.
const NS = "http://www.w3.org/2000/svg";
const CHAR = 7.3; // width of a character of the 12px monospace font
const BOX_H = 24, GAP_X = 44, GAP_Y = 8, PAD = 10;

const COLORS = {
  query: ["#e3f2e5", "#2e7d32"], relation: ["#e8eef8", "#3b5b92"], rule: ["#f1ecf8", "#6a4c9c"],
  tuple: ["#fff4dc", "#a66b00"], self: ["#fff4dc", "#a66b00"], all_of: ["#e0f2f1", "#00796b"],
  exclusion: ["#fbe9e7", "#bf360c"], denied: ["#fdecea", "#b71c1c"], union: ["#e8eef8", "#3b5b92"],
  intersection: ["#e0f2f1", "#00796b"], leaf: ["#fff4dc", "#a66b00"], cycle: ["#eeeeee", "#616161"],
};

function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function clip(s) {
  return s.length > 52 ? s.slice(0, 49) + "…" : s;
}

export function drawTree(root) {
  const colW = [];
  let rows = 0;
  (function measure(n, depth) {
    n.text = clip(n.label);
    n.w = n.text.length * CHAR + 16;
    n.depth = depth;
    colW[depth] = Math.max(colW[depth] || 0, n.w);
    for (const c of n.children) measure(c, depth + 1);
  })(root, 0);
  const colX = [PAD];
  for (let d = 1; d < colW.length; d++) colX[d] = colX[d - 1] + colW[d - 1] + GAP_X;
  (function place(n) {
    n.x = colX[n.depth];
    if (n.children.length === 0) {
      n.y = PAD + rows * (BOX_H + GAP_Y);
      rows++;
      return;
    }
    for (const c of n.children) place(c);
    n.y = n.children[0].y;
  })(root);
  const width = colX[colX.length - 1] + colW[colW.length - 1] + PAD;
  const height = PAD * 2 + rows * BOX_H + (rows - 1) * GAP_Y;
  const svg = el("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": root.label });
  const defs = el("defs", {});
  const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
  marker.append(el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#7a8699" }));
  defs.append(marker);
  svg.append(defs);
  const edges = el("g", { class: "edges" }), nodes = el("g", { class: "nodes" });
  svg.append(edges, nodes);
  (function draw(n) {
    const [fill, stroke] = COLORS[n.kind] || ["#f5f5f5", "#616161"];
    const g = el("g", { class: `node ${n.kind}` });
    g.append(el("rect", { x: n.x, y: n.y, width: n.w, height: BOX_H, rx: 5, fill, stroke, "stroke-width": 1.3 }));
    g.append(el("text", { x: n.x + 8, y: n.y + BOX_H / 2 + 4, fill: "#1d2430" }, n.text));
    if (n.text !== n.label) g.append(el("title", {}, n.label));
    nodes.append(g);
    for (const c of n.children) {
      const x1 = n.x + n.w, y1 = n.y + BOX_H / 2, x2 = c.x, y2 = c.y + BOX_H / 2, mx = (x1 + x2) / 2;
      edges.append(el("path", { d: `M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2} ${y2}`, fill: "none", stroke: "#7a8699", "stroke-width": 1.3, "marker-end": "url(#arrow)" }));
      draw(c);
    }
  })(root);
  return svg;
}
