#!/usr/bin/env node
// Committed with its executable bit, so `npx bench` runs on a fresh clone
// (tsc does not mark dist/src/cli.js executable).
import '../dist/src/cli.js';
