/** The tests' clamd is the development clamd of ops/ (one EICAR signature, own socket); test names kept for the suites. */
export { EICAR, EICAR_IN_MP4, prepareClamdDir, startDevClamd as startClamd, type DevClamd as TestClamd } from '../../ops/dev-clamd.ts';
