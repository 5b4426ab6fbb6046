/**
 * `make demo`: run with plain Node (which strips the types). Our TypeScript imports name `./x.js`
 * for `./x.ts`, as tsc wants; resolve them the way tsc does, then load the story.
 */
import { registerHooks } from 'node:module';

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

const { runDemo } = await import('./story.js');
try {
  await runDemo();
  process.exit(0);
} catch (err) {
  process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
