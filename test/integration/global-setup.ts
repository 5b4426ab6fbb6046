/**
 * Starts one control plane for the whole integration project (STYLE.md "Integration isolation").
 * Tests find it through LETHE_TEST_KUBECONFIG (see test/harness/kube.ts); global-teardown.ts
 * stops it. Both hooks run in Jest's main process, so the handle passes through globalThis.
 */
import { registerHooks } from 'node:module';
import type { ControlPlane } from '../harness/control-plane.js';

export interface SharedControlPlane {
  readonly plane: ControlPlane;
  /** True when LETHE_TEST_KEEP_CONTROL_PLANE_DIR asks to keep the temp dir (logs, data). */
  readonly keepTmpDir: boolean;
  /** Removes the SIGINT/SIGTERM handlers installed by the setup. */
  readonly removeSignalHandlers: () => void;
}

declare global {
  var __letheControlPlane: SharedControlPlane | undefined;
  var __letheTsResolution: boolean | undefined;
}

export default async function globalSetup(): Promise<void> {
  resolveTypeScriptFromJs();
  const { startControlPlane } = await import('../harness/control-plane.js');
  const { API_SERVER_ENV, CONTROL_PLANE_DIR_ENV, KUBECONFIG_ENV } = await import('../harness/kube.js');

  const keep = process.env['LETHE_TEST_KEEP_CONTROL_PLANE_DIR'];
  const keepTmpDir = keep !== undefined && keep !== '' && keep !== '0';

  // An interrupted run never reaches globalTeardown, and death by signal emits no 'exit' event
  // (where TestProcess kills its children), so stop the plane here and exit. During start-up,
  // abort it: startControlPlane then stops what it started and removes its temp dir.
  const startup = new AbortController();
  let plane: ControlPlane | undefined;
  let exitCode: number | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    exitCode = signal === 'SIGINT' ? 130 : 143;
    const code = exitCode;
    if (plane === undefined) {
      startup.abort(signal);
      return;
    }
    void plane
      .stop({ keepTmpDir })
      .catch((err: unknown) => process.stderr.write(`stopping the control plane failed: ${String(err)}\n`))
      .finally(() => process.exit(code));
  };
  const removeSignalHandlers = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    plane = await startControlPlane({ signal: startup.signal });
  } catch (err) {
    if (exitCode !== undefined) process.exit(exitCode);
    removeSignalHandlers();
    throw err;
  }
  const t = plane.timings;
  process.stderr.write(
    `\ncontrol plane ready in ${t.totalMs} ms (etcd ${t.etcdMs}, kube-apiserver ${t.apiServerMs}, ` +
      `CRDs ${t.crdsMs}, kube-controller-manager ${t.controllerManagerMs}) at ${plane.apiServerUrl}\n`,
  );

  globalThis.__letheControlPlane = { plane, keepTmpDir, removeSignalHandlers };
  process.env[KUBECONFIG_ENV] = plane.kubeconfigPath;
  process.env[API_SERVER_ENV] = plane.apiServerUrl;
  process.env[CONTROL_PLANE_DIR_ENV] = plane.tmpDir;
}

/**
 * Jest loads globalSetup with Node's own require and without the project's moduleNameMapper
 * (jestjs/jest#11644), so the `./x.js` specifiers of our TypeScript files don't resolve there.
 * Resolve them the way TypeScript does: a relative `.js` that doesn't exist is its `.ts` twin.
 * Jest's test runtime has its own resolver and is unaffected.
 */
function resolveTypeScriptFromJs(): void {
  if (globalThis.__letheTsResolution === true) return;
  globalThis.__letheTsResolution = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      try {
        return nextResolve(specifier, context);
      } catch (err) {
        if (!/^\.\.?\/.*\.js$/.test(specifier)) throw err;
        return nextResolve(`${specifier.slice(0, -'.js'.length)}.ts`, context);
      }
    },
  });
}
