// Bundles the page's code, CodeMirror included, into ../assets/app.js,
// which the docket binary embeds. The first line of the bundle records a
// hash of the sources it was built from; a Go test compares it with the
// sources, so a change to src/ without a rebuild fails the test suite.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";

export function sourcesHash() {
  const h = createHash("sha256");
  const files = ["package-lock.json", ...readdirSync("src").sort().map((f) => "src/" + f)];
  for (const f of files) {
    h.update(f + "\n");
    h.update(readFileSync(f));
  }
  return h.digest("hex");
}

await build({
  entryPoints: ["src/main.js"],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  legalComments: "none",
  banner: { js: `/* docket playground; sources sha256 ${sourcesHash()}; built by web/build.mjs from CodeMirror 6 (MIT) and src/ */` },
  outfile: "../assets/app.js",
});
