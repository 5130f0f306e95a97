#!/usr/bin/env node
// Runs on `npm install` in a clone and when npm installs Sluice from git, before
// the build. npm itself may run on an older system Node than the project's own
// (the `node` devDependency, first on every npm script's PATH). Its EBADENGINE
// warnings then describe npm's Node, not the Node that runs Sluice: say so once.
import { readFileSync } from 'node:fs';

// The floor of package.json's engines ("^22.13.0 || >=24" -> 22.13), so it is stated once.
const engines = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines.node;
const [floorMajor, floorMinor] = /(\d+)\.(\d+)/.exec(engines).slice(1).map(Number);
const agent = process.env.npm_config_user_agent ?? '';
const npmNode = /\bnode\/v(\d+)\.(\d+)/.exec(agent);
const [major, minor] = npmNode ? npmNode.slice(1).map(Number) : [Infinity, 0];
if (major < floorMajor || (major === floorMajor && minor < floorMinor)) {
  console.error(
    `sluice: npm ran on Node ${major}.${minor}, which Sluice does not support (engines: ${engines}); ` +
      `the project's scripts run on Node ${process.versions.node} from node_modules/.bin, so the EBADENGINE warnings above can be ignored here. ` +
      'To use Sluice in your own project, install Node 22 or 24.',
  );
}
