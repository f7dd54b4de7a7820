#!/usr/bin/env node
"use strict";
const path = require("node:path");
const fs = require("node:fs");

const entry = path.join(__dirname, "..", "dist", "cli", "main.js");
if (!fs.existsSync(entry)) {
  process.stderr.write("error: drstack is not built; run `npm ci` (or `npm run build`) first\n");
  process.exit(2);
}
// A closed pipe (`drstack plan --all | head`) is not an error.
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(process.exitCode || 0);
});
require(entry)
  .main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`error: internal error: ${e && e.message}\n`);
      process.exitCode = 3;
    },
  );
