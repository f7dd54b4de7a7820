"use strict";
// `npm test` runs every compiled test; `npx mocha dist/test/a.test.js ...` runs only the files named.
const named = process.argv.slice(2).some((a) => /\.test\.js$/.test(a));
module.exports = {
  spec: named ? [] : ["dist/test/**/*.test.js"],
  reporter: "test/support/summary-reporter.js",
  timeout: 120000,
  recursive: true,
  require: ["test/support/tmp-root.js"],
};
