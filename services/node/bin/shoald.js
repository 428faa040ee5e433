#!/usr/bin/env -S node --max-semi-space-size=32
// Committed launcher for the compiled daemon (dist/ does not exist until the build). Its first line
// carries SHOALD_NODE_FLAGS (@shoal/common): Node's flags for shoald.
import "../dist/src/main.js";
