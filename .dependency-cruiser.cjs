// Enforces the module direction of STYLE.md:
//   main (main.ts, its root.ts) → wiring → kube → gateway · lifecycle → store → exposition · leadership → model → errors
//   (observability and config are leaves anyone may import)
// A module may import from modules to its right, never to its left; siblings never import
// each other; other modules import a folder only through its index.ts.
const layers = ['main', 'wiring', 'kube', 'gateway|lifecycle', 'store', 'exposition|leadership', 'model', 'errors'];
const folder = (name) => (name === 'main' ? '^src/(main|root)\\.ts$' : name === 'errors' ? '^src/errors\\.ts$' : `^src/(${name})/`);

const forbidden = [];
layers.forEach((layer, i) => {
  const leftOf = layers.slice(0, i);
  if (leftOf.length > 0) {
    forbidden.push({
      name: `no-${layer.replace('|', '-')}-to-left`,
      comment: `${layer} may only import modules to its right`,
      severity: 'error',
      from: { path: folder(layer) },
      to: { path: leftOf.map(folder).join('|') },
    });
  }
});
forbidden.push(
  {
    name: 'no-gateway-lifecycle-siblings',
    severity: 'error',
    from: { path: '^src/gateway/' },
    to: { path: '^src/lifecycle/' },
  },
  {
    name: 'no-lifecycle-gateway-siblings',
    severity: 'error',
    from: { path: '^src/lifecycle/' },
    to: { path: '^src/gateway/' },
  },
  {
    name: 'no-exposition-leadership-siblings',
    severity: 'error',
    from: { path: '^src/exposition/' },
    to: { path: '^src/leadership/' },
  },
  {
    name: 'no-leadership-exposition-siblings',
    severity: 'error',
    from: { path: '^src/leadership/' },
    to: { path: '^src/exposition/' },
  },
  {
    name: 'leaves-import-no-src',
    comment: 'observability and config are leaves: they import no other src module but errors',
    severity: 'error',
    from: { path: '^src/(observability|config)/' },
    to: { path: '^src/(?!errors\\.ts$)(?!observability/|config/)' },
  },
  {
    name: 'only-kube-imports-client-node',
    severity: 'error',
    from: { path: '^src/(?!kube/)' },
    to: { path: '@kubernetes/client-node' },
  },
  {
    name: 'only-store-redis-imports-ioredis',
    severity: 'error',
    from: { path: '^src/(?!store/redis/)' },
    to: { path: 'node_modules/ioredis' },
  },
  {
    name: 'only-gateway-imports-express',
    severity: 'error',
    from: { path: '^src/(?!gateway/)' },
    to: { path: 'node_modules/express/' },
  },
  {
    name: 'only-observability-imports-winston',
    severity: 'error',
    from: { path: '^src/(?!observability/)' },
    to: { path: 'node_modules/winston/' },
  },
  {
    name: 'prom-client-only-where-metrics-are-made',
    comment: 'metrics are made in observability/ on a registry that wiring/ creates (and kube/ hands on)',
    severity: 'error',
    from: { path: '^src/(?!observability/|wiring/|kube/kube-mode\\.ts$)' },
    to: { path: 'node_modules/prom-client/' },
  },
  {
    name: 'import-folders-through-index',
    comment: 'import another folder only through its index.ts',
    severity: 'error',
    from: { path: '^src/([^/]+)/' },
    to: { path: '^src/([^/]+)/(?!index\\.ts$).+', pathNot: '^src/$1/' },
  },
  {
    name: 'no-circular',
    severity: 'error',
    from: {},
    to: { circular: true },
  },
);

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
