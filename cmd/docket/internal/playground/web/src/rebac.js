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
    const m = stream.match(name);
    if (m) {
      const word = m[0];
      const after = state.after;
      if (word === "type" || word === "relation") {
        state.after = word;
        return "keyword";
      }
      state.after = null;
      if (after === "type") return "typeName";
      if (after === "relation") return "definition";
      if (stream.peek() === "#" || stream.peek() === ".") return "variableName";
      return "propertyName";
    }
    const ch = stream.next();
    state.after = null;
    if ("|&-".includes(ch)) return "operator";
    if (ch === "=") return "definitionOperator";
    if (ch === "*") return "atom";
    if ("{}()".includes(ch)) return "bracket";
    return "punctuation";
  },
  languageData: { commentTokens: { line: "//" } },
});
