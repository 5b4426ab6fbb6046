export { classifyApiError, loadKubeConfig, toLetheError } from './client.js';
export type { ApiOutcome, KubeSource } from './client.js';
