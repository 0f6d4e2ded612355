#!/usr/bin/env -S MALLOC_TRIM_THRESHOLD_=131072 node --max-semi-space-size=4 --expose-gc
// The agent allocates a few kilobytes per container sample, all of it short-lived. V8 would grow
// its young generation to 3 × 16 MB for that; 4 MB semi-spaces keep RSS about 30 MB lower at 1000
// containers for the same CPU (2 MB costs a quarter more CPU in scavenges).
//
// A fixed trim threshold makes glibc's malloc hand freed memory back: V8's optimising compiler
// frees zones of 200 KB and more on its worker threads, which raises glibc's dynamic mmap and
// trim thresholds, after which freed memory stays in the threads' arenas and the main heap's top.
// Setting the threshold turns that adjustment off (mallopt(3)): at 1000 containers the agent
// keeps 13 to 16 MB less of it; its CPU price was 8 to 11 % in bench/collect's turns, none
// measurable with agents side by side (bench/README.md, "the soak"). Other C libraries ignore it.
//
// --expose-gc: memory kept for history answers (src/api/slabs.ts) is let go 30 s after the last
// one and handed back at once by a full collection it asks for, not minutes later at V8's next.
//
// bench/collect and bench/soak run the agent through this file, as users do.
import '../dist/src/cli/main.js';
