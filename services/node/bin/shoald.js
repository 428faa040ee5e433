#!/usr/bin/env node
// Committed launcher for the compiled daemon (dist/ does not exist until the build).
import "../dist/src/main.js";
