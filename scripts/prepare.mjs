#!/usr/bin/env node
// Runs on `npm install` in a clone and when npm installs Sluice from git, before
// the build. npm itself may run on an older system Node than the project's own
// (the `node` devDependency, first on every npm script's PATH). Its EBADENGINE
// warnings then describe npm's Node, not the Node that runs Sluice: say so once.
const agent = process.env.npm_config_user_agent ?? '';
const npmNode = /\bnode\/v(\d+)\.(\d+)/.exec(agent);
if (npmNode && (Number(npmNode[1]) < 22 || (Number(npmNode[1]) === 22 && Number(npmNode[2]) < 13))) {
  console.error(
    `sluice: npm ran on Node ${npmNode[1]}.${npmNode[2]}, which Sluice does not support (needs 22.13+ or 24+); ` +
      `the project's scripts run on Node ${process.versions.node} from node_modules/.bin, so the EBADENGINE warnings above can be ignored here. ` +
      'To use Sluice in your own project, install Node 22 or 24.',
  );
}
