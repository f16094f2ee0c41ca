// Preloaded (`--import`) into the processes the footprint bench compares, with --expose-gc: on
// SIGUSR2 run a full GC, so idle RSS is read after a forced settle, not whenever V8 happened to
// collect (issue 13). Neither wardgate nor the reference uses SIGUSR2; nothing else changes.
const gc = (globalThis as { gc?: () => void }).gc;
process.on('SIGUSR2', () => {
  gc?.();
  // A second pass after the first one's finalizers and freed pages.
  setTimeout(() => gc?.(), 50);
});
