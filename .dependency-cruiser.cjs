// Enforces the module direction of STYLE.md:
//   main → wiring → kube → gateway · lifecycle → store → exposition → model → errors
//   (observability and config are leaves anyone may import)
// A module may import from modules to its right, never to its left; siblings never import
// each other; other modules import a folder only through its index.ts.
const layers = ['main', 'wiring', 'kube', 'gateway|lifecycle', 'store', 'exposition', 'model', 'errors'];
const folder = (name) => (name === 'main' ? '^src/main\\.ts$' : name === 'errors' ? '^src/errors\\.ts$' : `^src/(${name})/`);

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
    name: 'only-store-imports-ioredis',
    severity: 'error',
    from: { path: '^src/(?!store/)' },
    to: { path: 'node_modules/ioredis' },
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
