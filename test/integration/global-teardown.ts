/**
 * Stops the control plane started by global-setup.ts and removes its temp dir. Jest runs this
 * after failed runs too; an interrupted run is handled by the setup's signal handlers.
 */
export default async function globalTeardown(): Promise<void> {
  const shared = globalThis.__letheControlPlane;
  if (shared === undefined) return;
  globalThis.__letheControlPlane = undefined;
  await shared.plane.stop({ keepTmpDir: shared.keepTmpDir });
  shared.removeSignalHandlers();
  if (shared.keepTmpDir) process.stderr.write(`control plane files kept in ${shared.plane.tmpDir}\n`);
}
