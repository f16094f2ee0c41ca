#!/usr/bin/env node
// Runs the compiled agent (npm run build). See README.md. On a box, systemd starts it with
// `node --max-semi-space-size=1` (V8 sized for a small box: see the unit).
import '../dist/agent/cli.js';
