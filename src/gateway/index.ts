export { createApp } from './app.js';
export { listen } from './server.js';
export type { ListeningServer } from './server.js';
export type { Attributor, BuildInfo, GatewayDeps, PushOrigin } from './types.js';
