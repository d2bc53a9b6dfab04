// Tokenizes every seed schema with VS Code's own TextMate engine
// (vscode-textmate and the Oniguruma regular expressions it uses) and
// fails on a character outside white space that no rule of the grammar
// scopes. The Go test beside the grammar checks the same in the default
// suite with Go's regular expressions; this one proves that VS Code reads
// the patterns the same way. Run with `npm test`.
const test = require("node:test");
const assert = require("node:assert");
const fs = require("node:fs");
const path = require("node:path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const root = path.join(__dirname, "..", "..", "..");

async function loadGrammar() {
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm")).buffer;
  await oniguruma.loadWASM(wasm);
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async () =>
      vsctm.parseRawGrammar(fs.readFileSync(path.join(__dirname, "..", "syntaxes", "rebac.tmLanguage.json"), "utf8"), "rebac.tmLanguage.json"),
  });
  return registry.loadGrammar("source.rebac");
}

function seedSchemas() {
  const files = [];
  for (const dir of fs.readdirSync(path.join(root, "schemas"))) {
    const p = path.join(root, "schemas", dir, "schema.rebac");
    if (fs.existsSync(p)) files.push(p);
  }
  const valid = path.join(root, "schema", "testdata", "valid");
  for (const f of fs.readdirSync(valid)) if (f.endsWith(".rebac")) files.push(path.join(valid, f));
  return files;
}

test("every token of the seed schemas is scoped", async () => {
  const grammar = await loadGrammar();
  const files = seedSchemas();
  assert.ok(files.length >= 3, `found ${files.length} seed schemas`);
  let checked = 0;
  for (const file of files) {
    let state = vsctm.INITIAL;
    const lines = fs.readFileSync(file, "utf8").replace(/^\uFEFF/, "").split("\n");
    lines.forEach((raw, n) => {
      const line = raw.replace(/\r$/, "");
      const r = grammar.tokenizeLine(line, state);
      state = r.ruleStack;
      for (const tok of r.tokens) {
        const text = line.slice(tok.startIndex, tok.endIndex);
        if (text.trim() === "") continue;
        checked++;
        assert.ok(tok.scopes.length > 1, `${file}:${n + 1}:${tok.startIndex + 1}: ${JSON.stringify(text)} has only the scopes ${tok.scopes}`);
      }
    });
  }
  assert.ok(checked > 0);
});

test("the scopes of each form", async () => {
  const grammar = await loadGrammar();
  const line = "  relation viewer = creator | assignee.team#member - deny_list // why";
  const { tokens } = grammar.tokenizeLine(line, vsctm.INITIAL);
  const scopeOf = (word) => {
    const i = line.indexOf(word);
    const tok = tokens.find((t) => t.startIndex <= i && i < t.endIndex);
    return tok.scopes[tok.scopes.length - 1];
  };
  assert.strictEqual(scopeOf("relation"), "keyword.declaration.relation.rebac");
  assert.strictEqual(scopeOf("viewer"), "entity.name.function.relation.rebac");
  assert.strictEqual(scopeOf("assignee.team"), "variable.other.hop.rebac");
  assert.strictEqual(scopeOf("member"), "variable.other.member.rebac");
  assert.strictEqual(scopeOf("-"), "keyword.operator.exclusion.rebac");
  assert.strictEqual(scopeOf("// why"), "comment.line.double-slash.rebac");
});
