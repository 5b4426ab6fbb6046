export { createApp } from './app.js';
export { ConnectionLimit, listen } from './server.js';
export type { ListeningServer, ServerOptions } from './server.js';
export { StaticAuthenticator, parseStaticCredentials } from './static-auth.js';
export { parseCredentials } from './middleware/authenticate.js';
export { anonymous, staticUser } from './types.js';
export type { Attributor, Authenticator, BuildInfo, Credentials, GatewayDeps, Principal, Problem, PrincipalSource, PushOrigin } from './types.js';
