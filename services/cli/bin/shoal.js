#!/usr/bin/env node
// Committed launcher for the compiled CLI (dist/ does not exist until the build).
import "../dist/src/main.js";
