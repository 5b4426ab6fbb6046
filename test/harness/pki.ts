/**
 * Certificates and credentials for the harness control plane (TESTING.md §3.2), made with the
 * openssl command line and node:crypto.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface TlsMaterial {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface Pki {
  readonly caCert: string;
  readonly saPublicKey: string;
  readonly saPrivateKey: string;
  /** CA, admin client certificate and key, as PEM text. */
  readonly tls: TlsMaterial;
}

/**
 * Writes into `dir`: a CA (ca.crt), the apiserver's serving pair under the names the apiserver
 * picks up from --cert-dir (apiserver.crt/.key, SANs localhost, 127.0.0.1 and `extraIps`), an
 * admin client pair (CN lethe-admin, O system:masters) and the ServiceAccount signing key pair
 * (sa.key/sa.pub).
 */
export async function createPki(dir: string, extraIps: readonly string[] = []): Promise<Pki> {
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(dir, [
    'req', '-x509', ...ecKey, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '7',
    '-subj', '/CN=lethe-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  const issue = async (name: string, subject: string, extensions: readonly string[]): Promise<void> => {
    await writeFile(join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
    await openssl(dir, ['req', '-new', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
    await openssl(dir, [
      'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key',
      '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '7',
      '-extfile', `${name}.ext`, '-out', `${name}.crt`,
    ]);
  };
  const leaf = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature'];
  await Promise.all([
    issue('apiserver', '/CN=kube-apiserver', [
      ...leaf,
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${['DNS:localhost', 'IP:127.0.0.1', ...extraIps.map((ip) => `IP:${ip}`)].join(',')}`,
    ]),
    issue('admin', '/O=system:masters/CN=lethe-admin', [...leaf, 'extendedKeyUsage=clientAuth']),
  ]);

  const sa = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  await writeFile(join(dir, 'sa.key'), sa.privateKey, { mode: 0o600 });
  await writeFile(join(dir, 'sa.pub'), sa.publicKey);

  const read = (file: string): Promise<string> => readFile(join(dir, file), 'utf8');
  return {
    caCert: join(dir, 'ca.crt'),
    saPublicKey: join(dir, 'sa.pub'),
    saPrivateKey: join(dir, 'sa.key'),
    tls: { ca: await read('ca.crt'), cert: await read('admin.crt'), key: await read('admin.key') },
  };
}

async function openssl(cwd: string, args: readonly string[]): Promise<void> {
  try {
    await execFileAsync('openssl', args, { cwd });
  } catch (err) {
    const stderr = typeof err === 'object' && err !== null && 'stderr' in err ? String(err.stderr) : '';
    throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed: ${stderr || String(err)}`, { cause: err });
  }
}

export function adminKubeconfig(server: string, tls: TlsMaterial): string {
  const b64 = (pem: string): string => Buffer.from(pem).toString('base64');
  // JSON is YAML, and every kubeconfig reader accepts it.
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'lethe-test', cluster: { server, 'certificate-authority-data': b64(tls.ca) } }],
      users: [
        {
          name: 'lethe-admin',
          user: { 'client-certificate-data': b64(tls.cert), 'client-key-data': b64(tls.key) },
        },
      ],
      contexts: [{ name: 'lethe-test', context: { cluster: 'lethe-test', user: 'lethe-admin', namespace: 'default' } }],
      'current-context': 'lethe-test',
    },
    null,
    2,
  );
}

/** GET over HTTPS with the harness CA and the admin client certificate; resolves with the status. */
export function httpsStatus(url: string, tls: TlsMaterial): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...tls, agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** PEM files of a CA, a serving pair for 127.0.0.1, and client pairs, as paths. */
export interface WebPki {
  readonly ca: string;
  readonly server: { readonly cert: string; readonly key: string };
  /** Client pairs from the CA, by name; each carries the SAN `DNS:<name>`. */
  readonly clients: Readonly<Record<string, { readonly cert: string; readonly key: string }>>;
  /** A client pair from another CA (SAN `DNS:rogue`), which the CA does not vouch for. */
  readonly rogue: { readonly cert: string; readonly key: string };
}

/**
 * Writes into `dir` a CA (web-ca.crt), a serving pair (server.crt/.key, SANs localhost and
 * 127.0.0.1) and a client pair per name (<name>.crt/.key, SAN DNS:<name>, clientAuth), plus a
 * client pair signed by a second CA (rogue.crt/.key). For the web configuration tests.
 */
export async function createWebPki(dir: string, clientNames: readonly string[]): Promise<WebPki> {
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = async (name: string): Promise<void> =>
    openssl(dir, [
      'req', '-x509', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '7',
      '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ]);
  await Promise.all([ca('web-ca'), ca('rogue-ca')]);
  const issue = async (name: string, caName: string, extensions: readonly string[]): Promise<{ cert: string; key: string }> => {
    await writeFile(join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
    await openssl(dir, ['req', '-new', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    await openssl(dir, [
      'x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`,
      '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '7',
      '-extfile', `${name}.ext`, '-out', `${name}.crt`,
    ]);
    return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  };
  const leaf = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature'];
  const client = (name: string, caName: string) => issue(name, caName, [...leaf, 'extendedKeyUsage=clientAuth', `subjectAltName=DNS:${name}`]);
  const [server, rogue, ...clients] = await Promise.all([
    issue('server', 'web-ca', [...leaf, 'extendedKeyUsage=serverAuth', 'subjectAltName=DNS:localhost,IP:127.0.0.1']),
    client('rogue', 'rogue-ca'),
    ...clientNames.map((name) => client(name, 'web-ca')),
  ]);
  if (server === undefined || rogue === undefined) throw new Error('certificates not issued');
  return {
    ca: join(dir, 'web-ca.crt'),
    server,
    clients: Object.fromEntries(clientNames.map((name, i) => [name, clients[i] ?? server])),
    rogue,
  };
}
