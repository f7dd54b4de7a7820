#!/usr/bin/env node
// Writes stacks/network.schema.json from the validator's shapes (run `npm run build` first;
// `npm run schema` does both). `--check` exits 1 when the committed file is out of date.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const {
  NETWORK_SCHEMA_FILE,
  networkJsonSchemaText,
} = require("../dist/components/topology/jsonSchema");

const file = path.join(__dirname, "..", NETWORK_SCHEMA_FILE);
const text = networkJsonSchemaText();
if (process.argv.includes("--check")) {
  const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  if (current !== text) {
    console.error(`${NETWORK_SCHEMA_FILE} is out of date: run npm run schema`);
    process.exit(1);
  }
} else {
  fs.writeFileSync(file, text);
  console.log(`wrote ${NETWORK_SCHEMA_FILE}`);
}
