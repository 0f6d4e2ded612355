#!/usr/bin/env -S node --max-semi-space-size=4
// The agent allocates a few kilobytes per container sample, all of it short-lived. V8 would grow
// its young generation to 3 × 16 MB for that; 4 MB semi-spaces keep RSS about 30 MB lower at 1000
// containers for the same CPU (2 MB costs a quarter more CPU in scavenges). bench/collect runs
// the agent through this file, as users do.
import '../dist/src/cli/main.js';
