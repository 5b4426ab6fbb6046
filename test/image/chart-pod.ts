/**
 * What the kubelet would do for the chart's pod, done with podman: the pod template's container
 * (image, args, env with the downward API, security context, memory limit, volumes) started in
 * its own network namespace, with the ServiceAccount token projected where client libraries look
 * for it and KUBERNETES_SERVICE_HOST/PORT naming the API server.
 */
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import { ulimitFlags } from './podman.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface ChartPodRun {
  readonly image: string;
  readonly name: string;
  readonly spec: V1PodSpec;
  readonly pod: { readonly name: string; readonly namespace: string };
  /** KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT. */
  readonly apiServer: { readonly host: string; readonly port: number };
  /** The projected ServiceAccount volume's files. */
  readonly serviceAccount: { readonly token: string; readonly caCrt: string };
  /** Host directory under which the pod's volumes are made. */
  readonly dir: string;
}

function fail(what: string): never {
  throw new Error(`the chart's pod uses ${what}, which this test does not know how to run`);
}

/** `podman run` arguments for the pod's only container; makes its volumes under `dir`. */
export async function podmanRunArgs(run: ChartPodRun): Promise<string[]> {
  const { spec } = run;
  if (spec.containers.length !== 1) fail(`${spec.containers.length} containers`);
  if ((spec.initContainers ?? []).length > 0) fail('init containers');
  const container = spec.containers[0] as V1Container;
  const pod = spec.securityContext ?? {};
  const sc = container.securityContext ?? {};
  const user = sc.runAsUser ?? pod.runAsUser;
  const group = sc.runAsGroup ?? pod.runAsGroup ?? user;
  if (user === undefined) fail('no runAsUser');
  const args = ['run', '--detach', '--name', run.name, '--network', 'podman', ...ulimitFlags()];

  // Security context: the user and groups, read-only root (and no tmpfs podman would add on its
  // own), no privilege escalation, the dropped capabilities, the runtime's default seccomp profile.
  args.push('--user', `${user}:${group}`);
  if (pod.fsGroup !== undefined) args.push('--group-add', String(pod.fsGroup));
  if (sc.readOnlyRootFilesystem === true) args.push('--read-only', '--read-only-tmpfs=false');
  if (sc.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges');
  if (sc.privileged === true) fail('a privileged container');
  for (const cap of sc.capabilities?.drop ?? []) args.push('--cap-drop', cap);
  for (const cap of sc.capabilities?.add ?? []) args.push('--cap-add', cap);
  const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
  if (seccomp !== undefined && seccomp !== 'RuntimeDefault') fail(`seccomp profile ${seccomp}`);

  const memory = container.resources?.limits?.['memory'];
  if (memory !== undefined) args.push('--memory', quantityBytes(memory));

  // Environment: the downward API, plain values, and the API server as the kubelet announces it.
  for (const env of container.env ?? []) {
    const field = env.valueFrom?.fieldRef?.fieldPath;
    if (env.value !== undefined) args.push('--env', `${env.name}=${env.value}`);
    else if (field === 'metadata.name') args.push('--env', `${env.name}=${run.pod.name}`);
    else if (field === 'metadata.namespace') args.push('--env', `${env.name}=${run.pod.namespace}`);
    else fail(`the environment variable ${env.name} from ${JSON.stringify(env.valueFrom)}`);
  }
  args.push('--env', `KUBERNETES_SERVICE_HOST=${run.apiServer.host}`, '--env', `KUBERNETES_SERVICE_PORT=${run.apiServer.port}`);

  // Volumes: emptyDirs (a tmpfs when it has a size limit), and the projected ServiceAccount token.
  const groupId = pod.fsGroup;
  for (const mount of container.volumeMounts ?? []) {
    const volume = (spec.volumes ?? []).find((v) => v.name === mount.name);
    if (volume?.emptyDir === undefined) fail(`the volume ${mount.name} (${JSON.stringify(volume)})`);
    const limit = volume?.emptyDir?.sizeLimit;
    if (limit !== undefined) {
      args.push('--mount', `type=tmpfs,destination=${mount.mountPath},tmpfs-size=${quantityBytes(limit)},tmpfs-mode=1777`);
    } else {
      const hostDir = join(run.dir, 'volumes', mount.name);
      await mkdir(hostDir, { recursive: true });
      // As the kubelet makes an emptyDir: world-writable, and with fsGroup owned by that group (setgid).
      if (groupId !== undefined) await chown(hostDir, 0, groupId);
      await chmod(hostDir, groupId === undefined ? 0o777 : 0o2777);
      args.push('--volume', `${hostDir}:${mount.mountPath}`);
    }
  }
  if (spec.automountServiceAccountToken !== false) {
    const saDir = join(run.dir, 'serviceaccount');
    await mkdir(saDir, { recursive: true });
    await chmod(saDir, 0o755);
    for (const [file, text] of [['token', run.serviceAccount.token], ['ca.crt', run.serviceAccount.caCrt], ['namespace', run.pod.namespace]] as const) {
      await writeFile(join(saDir, file), text, { mode: 0o644 });
    }
    args.push('--volume', `${saDir}:${SERVICE_ACCOUNT_DIR}:ro`);
  }

  if (container.command !== undefined) fail('a command (the image entrypoint is expected)');
  args.push(run.image, ...(container.args ?? []));
  return args;
}

/** A Kubernetes quantity (e.g. 512Mi, 64Mi, 1G) as a number of bytes. */
export function quantityBytes(quantity: string): string {
  const match = /^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  if (match?.[1] === undefined) throw new Error(`unsupported quantity ${quantity}`);
  const factor: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return String(Number(match[1]) * (match[2] === undefined ? 1 : (factor[match[2]] ?? 1)));
}
