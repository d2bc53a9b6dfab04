// Highlighting for Docket schemas: the tokens of the language, as the
// TextMate grammar of the VS Code extension scopes them.
import { StreamLanguage } from "@codemirror/language";

const name = /^[\p{L}_][\p{L}\p{N}_]*/u;

export const rebac = StreamLanguage.define({
  name: "rebac",
  startState: () => ({ after: null }),
  token(stream, state) {
    if (stream.eatSpace()) return null;
    if (stream.match("//")) {
      stream.skipToEnd();
      return "comment";
    }
    if (stream.match(/^"(?:[^"\\]|\\.)*"|^'(?:[^'\\]|\\.)*'/)) return "string";
    if (stream.match(/^(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)[uU]?/)) return "number";
    if (stream.match("...")) {
      state.after = "...";
      return "operator";
    }
    const m = stream.match(name);
    if (m) {
      const word = m[0];
      const after = state.after;
      if (["type", "relation", "partial", "condition"].includes(word)) {
        state.after = word;
        return "keyword";
      }
      if (["with", "and", "expiration"].includes(word)) return "keyword";
      state.after = null;
      if (after === "type" || after === "partial" || after === "...") return "typeName";
      if (after === "condition") return "definition";
      if (after === "relation") return "definition";
      if (stream.peek() === "#" || stream.peek() === ".") return "variableName";
      return "propertyName";
    }
    const ch = stream.next();
    state.after = null;
    if ("|&-<>!+*/%?".includes(ch)) return "operator";
    if (ch === "=") return "definitionOperator";
    if (ch === "*") return "atom";
    if ("{}()".includes(ch)) return "bracket";
    return "punctuation";
  },
  languageData: { commentTokens: { line: "//" } },
});
