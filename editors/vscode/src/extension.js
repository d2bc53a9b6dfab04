// The Docket extension: highlighting comes from the TextMate grammar in
// syntaxes/; everything else (diagnostics, hover, definitions, references,
// completion, formatting, rename) from `docket lsp`, started here.
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

async function start() {
  const config = vscode.workspace.getConfiguration("docket");
  const command = config.get("path") || "docket";
  const selector = [{ scheme: "file", language: "rebac" }, { scheme: "untitled", language: "rebac" }];
  for (const pattern of config.get("validationFiles") || []) {
    selector.push({ scheme: "file", language: "yaml", pattern });
  }
  client = new LanguageClient(
    "docket",
    "Docket",
    { command, args: ["lsp"], transport: TransportKind.stdio },
    { documentSelector: selector }
  );
  await client.start();
}

async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand("docket.restartServer", async () => {
      if (client) {
        await client.stop();
      }
      await start();
    }),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration("docket") && client) {
        await client.stop();
        await start();
      }
    })
  );
  try {
    await start();
  } catch (err) {
    vscode.window.showErrorMessage(
      `Docket: could not start '${vscode.workspace.getConfiguration("docket").get("path") || "docket"} lsp' (${err.message}). ` +
        "Install docket or set docket.path."
    );
  }
}

async function deactivate() {
  if (client) {
    await client.stop();
  }
}

module.exports = { activate, deactivate };
