// The last step of `npm run build` (and `make build`): dist/main.js, as tsc wrote it, becomes one
// bundle of Lethe and the dependencies every mode uses, so start-up reads a few files instead of
// resolving and compiling several hundred (about a third of the time to ready of an empty store;
// docs/benchmarks.md). What only one mode needs stays out of the start:
// - the modules main.ts and wiring/ import dynamically become separate chunks, loaded when used:
//   the Kubernetes mode's chunk holds the parts of @kubernetes/client-node that Lethe reaches
//   (its index loads every API group, about 17 MB of source that V8 keeps in the heap: an empty
//   Lethe on a control plane was ready in 0.95-1.14 s with 141-149 MiB resident with the client
//   left in node_modules, in 0.48-0.56 s with 92-99 MiB bundled); ioredis is left in
//   node_modules, loaded only for a Redis store;
// - prom-client's Pushgateway client (which Lethe never uses) is left out: prom-client's index
//   requires it, and it requires node:https, whose node:tls reads the bundled root certificates
//   at load (tens of ms of every start without TLS; Lethe loads node:https only when serving TLS).
// - so are express's body parsers (express.json() and the like, which Lethe never uses: it reads
//   push bodies itself): express requires body-parser at load, and with it iconv-lite, qs and
//   raw-body (about 40 ms of every start).
// - mime-types (with mime-db's table of 2,500 types) and qs, which express requires at load for
//   features Lethe never uses (res.type(), res.sendFile(), req.accepts(), the "extended" query
//   parser), are loaded when first used instead (about 8% of an empty start).
// The other files tsc wrote stay in dist/ (tests and the bench import them); the bundle does not
// read them.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { build } from 'esbuild';

const CHUNKS = 'dist/chunks';

rmSync(CHUNKS, { recursive: true, force: true });
await build({
  entryPoints: ['dist/main.js'],
  outdir: 'dist',
  allowOverwrite: true,
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  external: ['ioredis'],
  // CommonJS dependencies call require() for Node's own modules; an ES module has none.
  banner: { js: "import { createRequire as __letheRequire } from 'node:module'; const require = __letheRequire(import.meta.url);" },
  // Whitespace and syntax only: names stay, so stack traces still name Lethe's functions.
  minifyWhitespace: true,
  minifySyntax: true,
  // Licence comments go to a .LEGAL.txt beside each file (they may be past ASCII: see below).
  legalComments: 'external',
  logLevel: 'warning',
  plugins: [
    {
      name: 'left-out',
      setup(b) {
        b.onResolve({ filter: /^\.\/lib\/pushgateway$/ }, (args) =>
          args.importer.includes('/prom-client/') ? { path: 'prom-client Pushgateway', namespace: 'left-out' } : undefined,
        );
        b.onResolve({ filter: /^body-parser$/ }, (args) => (args.importer.includes('/express/') ? { path: 'express body parsers', namespace: 'left-out' } : undefined));
        // What is left out throws when used, never fails silently.
        const missing = (what) => `() => { throw new Error('${what} is not in the Lethe bundle'); }`;
        const stubs = {
          'prom-client Pushgateway': `module.exports = class Pushgateway { constructor() { (${missing('prom-client Pushgateway')})(); } };`,
          'express body parsers': `const missing = ${missing('express body parsers')}; module.exports = { json: missing, raw: missing, text: missing, urlencoded: missing };`,
        };
        b.onLoad({ filter: /.*/, namespace: 'left-out' }, (args) => ({ contents: stubs[args.path], loader: 'js' }));
      },
    },
    {
      name: 'loaded-when-used',
      setup(b) {
        // Each importer gets an object that loads the real module at its first use (any property
        // read, `in`, or listing its keys): CommonJS modules that export an object of functions.
        b.onResolve({ filter: /^(mime-types|qs)$/ }, async (args) => {
          if (args.pluginData?.real === true) return undefined;
          const real = await b.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, pluginData: { real: true } });
          if (real.errors.length > 0) return { errors: real.errors };
          // Relative, so that the bundle names no directory of the machine that built it.
          return { path: relative(process.cwd(), real.path), namespace: 'loaded-when-used' };
        });
        b.onLoad({ filter: /.*/, namespace: 'loaded-when-used' }, (args) => ({
          contents: `let real;
const load = () => (real ??= require(${JSON.stringify(resolve(args.path))}));
module.exports = new Proxy({}, {
  get: (_, name) => load()[name],
  has: (_, name) => name in load(),
  ownKeys: () => Reflect.ownKeys(load()),
  getOwnPropertyDescriptor: (_, name) => {
    const descriptor = Object.getOwnPropertyDescriptor(load(), name);
    return descriptor === undefined ? undefined : { ...descriptor, configurable: true };
  },
});`,
          loader: 'js',
          resolveDir: dirname(resolve(args.path)),
        }));
      },
    },
  ],
});

// The bundle must be ASCII: V8 keeps each script's source in the heap for as long as the script
// lives, and one character past Latin-1 (esbuild escapes them, but not in String.raw templates,
// which it must leave as written) makes the whole file a two-byte string, 2 MB of heap for a
// 1 MB chunk. Write such characters as \u escapes instead.
for (const file of ['dist/main.js', ...readdirSync(CHUNKS).filter((name) => name.endsWith('.js')).map((name) => join(CHUNKS, name))]) {
  const text = readFileSync(file, 'utf8');
  const at = text.search(/[^\x00-\x7f]/);
  if (at !== -1) {
    console.error(`${file}: character ${JSON.stringify(text[at])} at offset ${at} (near ${JSON.stringify(text.slice(Math.max(0, at - 40), at + 10))}): the bundle must be ASCII; write it as a \\u escape`);
    process.exit(1);
  }
}
