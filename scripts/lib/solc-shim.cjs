#!/usr/bin/env node
// A native-solc look-alike over solcjs, so forge can compile offline.
// forge calls `solc --version` to learn the version and
// `solc --standard-json [--base-path P] [--include-path P] [--allow-paths P]`
// with the input JSON on stdin; nothing else is needed.
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const args = process.argv.slice(2);

if (args.includes('--version')) {
  // Native solc prints two lines; forge parses the semver after "Version: ".
  process.stdout.write('solc, the solidity compiler commandline interface\n');
  process.stdout.write(`Version: ${solc.version()}\n`);
  process.exit(0);
}

if (!args.includes('--standard-json')) {
  process.stderr.write('solc-shim: only --version and --standard-json are supported\n');
  process.exit(2);
}

function flagValues(name) {
  const values = [];
  args.forEach((arg, i) => {
    if (arg === name && i + 1 < args.length) values.push(args[i + 1]);
    else if (arg.startsWith(`${name}=`)) values.push(arg.slice(name.length + 1));
  });
  return values;
}

// forge sends every source's content, but answer imports from disk anyway, as
// native solc would, looking under the base and include paths.
const searchRoots = [...flagValues('--base-path'), ...flagValues('--include-path'), process.cwd()];
function findImports(importPath) {
  for (const root of searchRoots) {
    const candidate = path.resolve(root, importPath);
    if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, 'utf8') };
  }
  return { error: `File not found: ${importPath}` };
}

// A standard-json file path may follow the flag; otherwise read stdin.
const flagIndex = args.indexOf('--standard-json');
const next = args[flagIndex + 1];
const input = next && !next.startsWith('--') ? fs.readFileSync(next, 'utf8') : fs.readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImports }));
