// One Jest config (STYLE.md "Tests"): unit, integration, e2e; fault (real faults: a tmpfs that
// fills, syscalls failed with libfiu, SIGKILL; `make test-fault`); image (the container image run
// as the Helm chart runs it, `make test-image`) and node (a real kubelet, `make test-node`).
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } },
  ],
};
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform,
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
};

export default {
  // Per-project testTimeout is ignored by Jest; integration and e2e tests need minutes.
  testTimeout: 120000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
      globalTeardown: '<rootDir>/test/integration/global-teardown.ts',
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
    },
    // Real faults: a tmpfs that fills (root), syscalls failed with libfiu, SIGKILL (make test-fault).
    {
      ...common,
      displayName: 'fault',
      testMatch: ['<rootDir>/test/fault/**/*.test.ts'],
    },
    { ...common, displayName: 'image', testMatch: ['<rootDir>/test/image/**/*.test.ts'] },
    { ...common, displayName: 'node', testMatch: ['<rootDir>/test/node/**/*.test.ts'] },
  ],
};
