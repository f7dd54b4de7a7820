"use strict";
// Loaded by mocha (`require` in .mocharc.json) before the spec files: every temporary directory
// the tests and the processes they start make (describe bodies included) goes under one
// directory of this run, removed when the run ends, so nothing is left in /tmp. World-writable
// with the sticky bit, like /tmp: Patroni and PostgreSQL run as `postgres`.
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const previous = process.env.TMPDIR;
const root = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-tests-"));
fs.chmodSync(root, 0o1777);
process.env.TMPDIR = root;

exports.mochaHooks = {
  afterAll() {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    if (!process.env.DRSTACK_KEEP) fs.rmSync(root, { recursive: true, force: true });
  },
};
