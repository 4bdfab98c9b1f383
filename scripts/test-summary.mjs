// Prints the plain `N passed, N failed` line CI reads, from vitest's JSON report.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let passed = 0;
let failed = 1; // no report means the run failed before or during testing (e.g. typecheck)
try {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed = r.numPassedTests;
  failed = r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0) + (r.numFailedTestSuites && !r.numFailedTests ? r.numFailedTestSuites : 0);
} catch {
  console.error(`test-summary: no readable vitest report at ${file}`);
}
console.log(`${passed} passed, ${failed} failed`);
