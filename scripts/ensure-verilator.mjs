// Makes `npm test` work on a fresh machine: installs Verilator when it is missing and we are root.
import { execFileSync, spawnSync } from 'node:child_process';

function have(cmd) {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

if (!have('verilator')) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root) {
    console.error('flightgen: Verilator is required for the RTL tests: install it (Debian/Ubuntu: sudo apt-get install -y verilator) and re-run npm test');
    process.exit(2);
  }
  console.log('flightgen: Verilator not found; installing it with apt-get (about 10 s)...');
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', 'verilator'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch {
    console.error('flightgen: apt-get install verilator failed; install Verilator by hand and re-run npm test');
    process.exit(2);
  }
  if (!have('verilator')) {
    console.error('flightgen: Verilator is still not on PATH after installing it');
    process.exit(2);
  }
}
