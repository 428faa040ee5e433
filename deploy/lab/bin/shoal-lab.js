#!/usr/bin/env node
// Committed launcher for the compiled CLI: npm links a workspace bin only if its file exists at
// install time, and dist/ does not exist until after `npm ci` on a fresh clone.
import "../dist/src/cli.js";
