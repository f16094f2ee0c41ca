#!/usr/bin/env node
// Runs the compiled agent (npm run build). See README.md.
import '../dist/agent/cli.js';
