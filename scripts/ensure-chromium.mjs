// Makes the browser test of `flightgen report` (test/report/report.test.ts) runnable on a fresh
// machine: installs Debian's Chromium with apt-get when it is missing and we are root. Not root
// and no Chromium: prints what to install and exits 0, so the rest of `npm test` still runs
// (the browser test then skips with the same message). Never downloads a browser of its own
// (no `npx playwright install`): playwright-core drives /usr/bin/chromium.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function have() {
  return existsSync(path) && spawnSync(path, ['--version'], { stdio: 'ignore' }).status === 0;
}

if (!have()) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root) {
    console.error(`flightgen: Chromium (${path}) is needed for the report's browser test, which will be skipped: install it (Debian/Ubuntu: sudo apt-get install -y chromium) and re-run npm test`);
    process.exit(0);
  }
  console.log('flightgen: Chromium not found; installing Debian chromium with apt-get (about a minute)...');
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch {
    console.error('flightgen: apt-get install chromium failed; install Chromium by hand (apt-get install -y chromium) and re-run npm test');
    process.exit(2);
  }
  if (!have()) {
    console.error(`flightgen: Chromium is still not at ${path} after installing it (set CHROMIUM_PATH if it lives elsewhere)`);
    process.exit(2);
  }
}
